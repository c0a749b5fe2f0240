# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
preset = "quick"  # every chapter takes the preset; this page has nothing to compute

# %% [markdown]
# # References
#
# The works this book cites, with where it uses them.
#
# - **Espuña i Fontcuberta, A.** (2022). *Analyzing the Negative Log-Likelihood Loss in
#   Generative Modeling.* Master thesis, KTH, School of Electrical Engineering and Computer
#   Science. The thesis this book reproduces; only its abstract is public (preface).
# - **Dinh, L., Sohl-Dickstein, J. & Bengio, S.** (2017). Density estimation using Real NVP.
#   *ICLR.* The flow of every chapter (*Real NVP on MNIST*).
# - **Kingma, D. P. & Dhariwal, P.** (2018). Glow: generative flow with invertible 1x1
#   convolutions. *NeurIPS.* ActNorm, split priors, sampling at reduced temperature.
# - **Goodfellow, I. et al.** (2014). Generative adversarial nets. *NeurIPS.* The minimax and
#   non-saturating losses (*Likelihood versus adversaries*).
# - **Radford, A., Metz, L. & Chintala, S.** (2016). Unsupervised representation learning
#   with deep convolutional generative adversarial networks. *ICLR.* The positive control's
#   generator and Adam's beta1 = 0.5 (*Experiment 1*).
# - **Grover, A., Dhar, M. & Ermon, S.** (2018). Flow-GAN: combining maximum likelihood and
#   adversarial learning in generative models. *AAAI.* The hybrid loss and WGAN-GP settings.
# - **Danihelka, I., Lakshminarayanan, B., Uria, B., Wierstra, D. & Dayan, P.** (2017).
#   Comparison of maximum likelihood and GAN-based training of Real NVPs. *arXiv:1705.05263.*
# - **Gulrajani, I. et al.** (2017). Improved training of Wasserstein GANs. *NeurIPS.* WGAN-GP.
# - **Mescheder, L., Geiger, A. & Nowozin, S.** (2018). Which training methods for GANs do
#   actually converge? *ICML.* The R1 penalty and local convergence (*The Nash equilibrium*).
# - **Miyato, T. et al.** (2018). Spectral normalization for generative adversarial networks.
#   *ICLR.*
# - **Heusel, M. et al.** (2017). GANs trained by a two time-scale update rule converge to a
#   local Nash equilibrium. *NeurIPS.* FID and TTUR (*Measuring image quality*).
# - **Kynkäänniemi, T. et al.** (2019). Improved precision and recall metric for assessing
#   generative models. *NeurIPS.*
# - **Lucic, M. et al.** (2018). Are GANs created equal? A large-scale study. *NeurIPS.*
#   Searches of equal budget, reported as distributions (*Experiment 1*).
# - **Theis, L., van den Oord, A. & Bethge, M.** (2016). A note on the evaluation of
#   generative models. *ICLR.* Why likelihood and sample quality can disagree
#   (*What NLL and FID say about each other*).
