"""vae_course: the small package every notebook of the VAE course leans on.

A notebook teaches; this package computes. One module per idea:

========================  =====================================================  ==========
module                    what it holds                                          lecture
========================  =====================================================  ==========
``config``                fast mode, device choice (CUDA, MPS, CPU), seeding      all
``info``                  entropy, cross-entropy, KL (discrete, Gaussian, VAE)    01
``symbolic``              the Gaussian KL derived step by step in SymPy           01, 09
``kl_fit``                forward vs reverse KL fits of one Gaussian to a mixture 01
``widgets``               the interactive explorers (ipywidgets)                  01, 03, 06, 09
``data``                  MNIST (download or local IDX folder), sprites           02, 05, 07
``models``                autoencoder, MLP VAE, convolutional VAE                 02, 05, 06
``losses``                likelihoods, analytic KL, β, free bits                  05, 07
``train``                 ``fit``: the one training loop; checkpoints             02, 05–08
``evaluate``              test ELBO, importance-sampled log p(x)                  05
``elbo``                  the exact linear-Gaussian model, ELBO, IWAE bound       03
``gradients``             score-function vs pathwise gradient estimators          04
``latent``                reparameterization, lerp/slerp, latent arithmetic       04, 06
``drills``                exam-prep KL drills (``python -m vae_course.drills``)   09
``grading``, ``assign``,  instant feedback, exercise generation, class grading   exercises
``grade``
``bench``                 speed benchmarks that print JSON                        05, 06
========================  =====================================================  ==========
"""

__version__ = "0.1.0"
