// Lecture 01's KL explorer on the static site: no kernel, no network.
// KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2  (nats),
// the closed form that vae_course.info.kl_normal computes; the densities are drawn as SVG paths.
(function () {
  "use strict";
  function kl(m1, s1, m2, s2) {
    return Math.log(s2 / s1) + (s1 * s1 + (m1 - m2) * (m1 - m2)) / (2 * s2 * s2) - 0.5;
  }
  function pdf(x, m, s) {
    var u = (x - m) / s;
    return Math.exp(-0.5 * u * u) / (s * Math.sqrt(2 * Math.PI));
  }
  function setup(root) {
    var inputs = {};
    ["mu1", "sigma1", "mu2", "sigma2"].forEach(function (name) {
      inputs[name] = root.querySelector("input[name=" + name + "]");
    });
    var out = {
      forward: root.querySelector(".kl-forward b"), reverse: root.querySelector(".kl-reverse b"),
      forwardBits: root.querySelector(".kl-forward .bits"), reverseBits: root.querySelector(".kl-reverse .bits")
    };
    var svg = root.querySelector("svg"), W = 640, H = 240, X0 = -10, X1 = 10;
    var pathP = svg.querySelector(".density-p"), pathQ = svg.querySelector(".density-q");
    function value(name) {
      var v = parseFloat(inputs[name].value);
      root.querySelector(".value-" + name).textContent = v.toFixed(2);
      return v;
    }
    function curve(m, s, ymax) {
      var d = "";
      for (var i = 0; i <= 400; i++) {
        var x = X0 + (X1 - X0) * i / 400;
        var px = 40 + (W - 50) * i / 400, py = H - 30 - (H - 45) * pdf(x, m, s) / ymax;
        d += (i ? "L" : "M") + px.toFixed(1) + "," + py.toFixed(1);
      }
      return d;
    }
    function update() {
      var m1 = value("mu1"), s1 = value("sigma1"), m2 = value("mu2"), s2 = value("sigma2");
      var f = kl(m1, s1, m2, s2), r = kl(m2, s2, m1, s1);
      out.forward.textContent = f.toFixed(4);
      out.reverse.textContent = r.toFixed(4);
      out.forwardBits.textContent = (f / Math.LN2).toFixed(4);
      out.reverseBits.textContent = (r / Math.LN2).toFixed(4);
      var ymax = 1.1 * Math.max(pdf(m1, m1, s1), pdf(m2, m2, s2));
      pathP.setAttribute("d", curve(m1, s1, ymax));
      pathQ.setAttribute("d", curve(m2, s2, ymax));
      root.setAttribute("data-kl-forward", f.toFixed(6));
      root.setAttribute("data-kl-reverse", r.toFixed(6));
    }
    Object.keys(inputs).forEach(function (k) { inputs[k].addEventListener("input", update); });
    update();
  }
  function init() { document.querySelectorAll(".static-kl-explorer").forEach(setup); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
