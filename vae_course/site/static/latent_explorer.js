// Lecture 06's 2-D latent explorer on the static site: no kernel, no network.
// Two sliders pick z = (z1, z2) on a grid; the decoded image for each grid point was computed by
// vae_course.site from the trained 2-D model and packed into one sprite sheet (row r: z2 = top..bottom,
// column c: z1 = left..right); the ring on the latent map follows z.
(function () {
  "use strict";
  function setup(root) {
    var meta = JSON.parse(root.getAttribute("data-grid"));
    var n = meta.n, lo = meta.lo, hi = meta.hi, step = (hi - lo) / (n - 1), px = meta.tile;
    var s1 = root.querySelector("input[name=z1]"), s2 = root.querySelector("input[name=z2]");
    var canvas = root.querySelector("canvas.latent-decoded"), ctx = canvas.getContext("2d");
    var sheet = root.querySelector("img.latent-sheet"), ring = root.querySelector(".latent-ring");
    var readout = root.querySelector(".latent-readout");
    ctx.imageSmoothingEnabled = false;
    function draw() {
      var z1 = parseFloat(s1.value), z2 = parseFloat(s2.value);
      var c = Math.round((z1 - lo) / step), r = Math.round((hi - z2) / step);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(sheet, c * px, r * px, px, px, 0, 0, canvas.width, canvas.height);
      // map: the plotted square spans [-limit, limit] in both axes
      var L = meta.map_limit, box = meta.map_box;     // box: [left, top, width, height] as fractions of the map image
      ring.setAttribute("cx", ((box[0] + box[2] * (z1 + L) / (2 * L)) * 100).toFixed(2) + "%");
      ring.setAttribute("cy", ((box[1] + box[3] * (L - z2) / (2 * L)) * 100).toFixed(2) + "%");
      readout.textContent = "z = (" + z1.toFixed(2) + ", " + z2.toFixed(2) + ")";
      root.setAttribute("data-tile", r + "," + c);
    }
    s1.addEventListener("input", draw);
    s2.addEventListener("input", draw);
    if (sheet.complete && sheet.naturalWidth) { draw(); } else { sheet.addEventListener("load", draw); }
  }
  function init() { document.querySelectorAll(".static-latent-explorer").forEach(setup); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
