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
# (ref-thesis)=
# **Espuña i Fontcuberta, A.** (2022). *Analyzing the Negative Log-Likelihood Loss in
# Generative Modeling.* Master thesis, KTH, School of Electrical Engineering and Computer
# Science. The thesis this book reproduces; only its abstract is public (preface).
#
# (ref-dinh2017)=
# **Dinh, L., Sohl-Dickstein, J. & Bengio, S.** (2017). Density estimation using Real NVP.
# *ICLR.* The flow of every chapter ({doc}`Real NVP on MNIST <realnvp_mnist>`).
#
# (ref-kingma2018)=
# **Kingma, D. P. & Dhariwal, P.** (2018). Glow: generative flow with invertible 1x1
# convolutions. *NeurIPS.* ActNorm, split priors, sampling at reduced temperature.
#
# (ref-goodfellow2014)=
# **Goodfellow, I. et al.** (2014). Generative adversarial nets. *NeurIPS.* The minimax and
# non-saturating losses ({doc}`Maximum likelihood and the GAN game <likelihood_vs_adversaries>`).
#
# (ref-arjovsky2017)=
# **Arjovsky, M. & Bottou, L.** (2017). Towards principled methods for training generative
# adversarial networks. *ICLR.* The non-saturating generator loss as a KL and a JSD term
# ({doc}`Maximum likelihood and the GAN game <likelihood_vs_adversaries>`).
#
# (ref-radford2016)=
# **Radford, A., Metz, L. & Chintala, S.** (2016). Unsupervised representation learning
# with deep convolutional generative adversarial networks. *ICLR.* The positive control's
# generator and Adam's beta1 = 0.5 ({doc}`Experiment 1 <nll_vs_gan>`).
#
# (ref-grover2018)=
# **Grover, A., Dhar, M. & Ermon, S.** (2018). Flow-GAN: combining maximum likelihood and
# adversarial learning in generative models. *AAAI.* The hybrid loss and WGAN-GP settings.
#
# (ref-danihelka2017)=
# **Danihelka, I., Lakshminarayanan, B., Uria, B., Wierstra, D. & Dayan, P.** (2017).
# Comparison of maximum likelihood and GAN-based training of Real NVPs. *arXiv:1705.05263.*
#
# (ref-gulrajani2017)=
# **Gulrajani, I. et al.** (2017). Improved training of Wasserstein GANs. *NeurIPS.* WGAN-GP.
#
# (ref-mescheder2018)=
# **Mescheder, L., Geiger, A. & Nowozin, S.** (2018). Which training methods for GANs do
# actually converge? *ICML.* The R1 penalty and local convergence ({doc}`The Nash equilibrium <nash>`).
#
# (ref-miyato2018)=
# **Miyato, T. et al.** (2018). Spectral normalization for generative adversarial networks.
# *ICLR.*
#
# (ref-heusel2017)=
# **Heusel, M. et al.** (2017). GANs trained by a two time-scale update rule converge to a
# local Nash equilibrium. *NeurIPS.* FID and TTUR ({doc}`Measuring image quality <measuring_quality>`).
#
# (ref-kynkaanniemi2019)=
# **Kynkäänniemi, T. et al.** (2019). Improved precision and recall metric for assessing
# generative models. *NeurIPS.*
#
# (ref-lucic2018)=
# **Lucic, M. et al.** (2018). Are GANs created equal? A large-scale study. *NeurIPS.*
# Searches of equal size (configurations), reported as distributions ({doc}`Experiment 1 <nll_vs_gan>`).
#
# (ref-theis2016)=
# **Theis, L., van den Oord, A. & Bethge, M.** (2016). A note on the evaluation of
# generative models. *ICLR.* Why likelihood and sample quality can disagree
# ({doc}`What NLL and FID say about each other <nll_vs_fid>`).
