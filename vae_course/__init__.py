"""vae_course: the small package every notebook of the VAE course leans on.

A notebook teaches; this package computes. One module per idea:

=========================  =====================================================  ==========
module                     what it holds                                          lecture
=========================  =====================================================  ==========
``config``                 fast mode, device choice (CUDA, MPS, CPU), seeding      all
``validation``             argument checks shared by every public function         all
``info``                   entropy, cross-entropy, KL (discrete, Gaussian, VAE)    01
``symbolic``               the Gaussian KL derived step by step in SymPy           01, 12
``kl_fit``                 forward vs reverse KL fits of one Gaussian to a mixture 01
``widgets``                the interactive explorers (ipywidgets)                  01, 03, 06, 10, 12
``data``                   MNIST (download or local IDX folder)                    02, 05–11
``models``                 autoencoders, MLP/conv VAE, conditional VAE;            02, 04–06, 10
                           ``reparameterize``
``losses``                 likelihoods, analytic KL, β, free bits                  05, 07, 08
``train``                  ``fit``: the one training loop; checkpoints;            02, 05–11
                           ``load_or_train``
``evaluate``               test ELBO, importance-sampled log p(x)                  05, 11
``elbo``                   the exact linear-Gaussian model, ELBO, IWAE bound       03
``gradients``              score-function vs pathwise gradient estimators          04
``latent``                 lerp/slerp, latent arithmetic, encoding and decoding    06
``plots``                  small figures; lecture 06's static latent figures       02, 05–10
``sprites``, ``metrics``   sprites with known factors; active units, MIG           07, 08
``schedules``              β schedules (KL annealing)                              08
``vq``                     vector quantization, VQ-VAE, code priors                09
``conditional``            class × style grid, style transfer, linear probes       10
``autoregressive``         MADE/FVSBN: exact log p(x), pixel-by-pixel sampling     11
``flows``                  RealNVP: exact log p(x) by change of variables          11
``drills``                 exam drills and the mock exam (``-m vae_course.drills``) 12
``grading``, ``assign``    instant feedback; exercises generated from solutions    exercises
``grade``, ``sandbox``,    the class grader: submissions in a bubblewrap sandbox,  exercises
``harvest``, ``wire``      answers back as data, verdicts in the grader
``bench``                  speed benchmarks that print JSON                        05, 06, 10
``site``, ``colab``        the static website; Colab setup cells and badges        —
=========================  =====================================================  ==========
"""

__version__ = "0.1.0"
