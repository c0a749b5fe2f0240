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
# Every work this book cites, in one list, with a link to it (a DOI where the work has one
# that could be checked, else its arXiv or web page) and the chapters that use it. A chapter
# links its citations here: each entry has an anchor `ref-<name>`, cited with the `ref` role,
# e.g. ``{ref}`Dinh et al., 2017 <ref-dinh2017>` ``.
#
# ## The thesis
#
# (ref-thesis)=
# **Espuña i Fontcuberta, A.** (2022). *Analyzing the Negative Log-Likelihood Loss in
# Generative Modeling.* Master thesis, KTH Royal Institute of Technology, School of
# Electrical Engineering and Computer Science. Only its abstract is public, e.g.
# <https://www.essays.se/essay/f8fd77f939/>; the full text is listed in KTH's DiVA portal.
# The thesis this book reproduces ({doc}`preface`, {doc}`findings`).
#
# ## Normalizing flows
#
# (ref-dinh2017)=
# **Dinh, L., Sohl-Dickstein, J. & Bengio, S.** (2017). Density estimation using Real NVP.
# *International Conference on Learning Representations (ICLR).*
# [arXiv:1605.08803](https://arxiv.org/abs/1605.08803). The flow of every chapter: affine
# couplings, checkerboard and channel masks, the multi-scale architecture, the logit
# transform ({doc}`realnvp_mnist`, {doc}`flows_2d`, {doc}`data`).
#
# (ref-kingma2018)=
# **Kingma, D. P. & Dhariwal, P.** (2018). Glow: generative flow with invertible 1x1
# convolutions. *Advances in Neural Information Processing Systems 31 (NeurIPS).*
# [arXiv:1807.03039](https://arxiv.org/abs/1807.03039). ActNorm, split priors, sampling at
# reduced temperature ({doc}`realnvp_mnist`, {doc}`synthetic_mnist`). Its results are on
# CIFAR-10, ImageNet and LSUN, not MNIST: for the MNIST figure of Glow quoted in this book see
# {ref}`Grathwohl et al. (2019) <ref-grathwohl2019>`.
#
# (ref-grathwohl2019)=
# **Grathwohl, W., Chen, R. T. Q., Bettencourt, J., Sutskever, I. & Duvenaud, D.** (2019).
# FFJORD: free-form continuous dynamics for scalable reversible generative models. *ICLR.*
# [arXiv:1810.01367](https://arxiv.org/abs/1810.01367). The source this book gives for the
# MNIST test bits/dim "Real NVP 1.06, Glow 1.05" ({doc}`realnvp_mnist`): as far as this book
# could check, neither original paper reports MNIST, and these two figures are the ones that
# FFJORD's comparison table
# (Table 2, bits/dim on MNIST and CIFAR-10) and later flow papers quote. *Not checked against
# the table itself:* the tools this book was written with could not open the paper's table,
# so read it there before quoting the numbers further.
#
# (ref-lippe-uva11)=
# **Lippe, P.** Tutorial 11: Normalizing flows for image modeling. *UvA Deep Learning
# Tutorials*, University of Amsterdam (a living web page, with its notebook in the
# repository phlippe/uvadlc_notebooks).
# <https://uvadlc-notebooks.readthedocs.io/en/latest/tutorial_notebooks/tutorial11/NF_image_modeling.html>.
# The PyTorch code of dequantisation, coupling layers and a multi-scale flow on MNIST,
# explained line by line; its results table gives 1.020 test bits/dim for its multi-scale
# flow with variational dequantisation (1.043 for the simple flow with it, 1.078 without),
# each after hours of training on a GPU ({doc}`realnvp_mnist`).
#
# (ref-theis2016)=
# **Theis, L., van den Oord, A. & Bethge, M.** (2016). A note on the evaluation of
# generative models. *ICLR.* [arXiv:1511.01844](https://arxiv.org/abs/1511.01844).
# Dequantisation as a bound on the discrete likelihood, and why likelihood and sample quality
# can disagree ({doc}`data`, {doc}`realnvp_mnist`, {doc}`nll_vs_fid`).
#
# ## Adversarial training
#
# (ref-goodfellow2014)=
# **Goodfellow, I., Pouget-Abadie, J., Mirza, M., Xu, B., Warde-Farley, D., Ozair, S.,
# Courville, A. & Bengio, Y.** (2014). Generative adversarial nets. *Advances in Neural
# Information Processing Systems 27 (NeurIPS).*
# [arXiv:1406.2661](https://arxiv.org/abs/1406.2661). The minimax game, its equilibrium and
# the non-saturating generator loss ({doc}`likelihood_vs_adversaries`, {doc}`nash`).
#
# (ref-arjovsky2017)=
# **Arjovsky, M. & Bottou, L.** (2017). Towards principled methods for training generative
# adversarial networks. *ICLR.* [arXiv:1701.04862](https://arxiv.org/abs/1701.04862). The
# non-saturating generator loss as a reverse-KL and a JSD term
# ({doc}`likelihood_vs_adversaries`).
#
# (ref-nagarajan2017)=
# **Nagarajan, V. & Kolter, J. Z.** (2017). Gradient descent GAN optimization is locally
# stable. *Advances in Neural Information Processing Systems 30 (NeurIPS).*
# [arXiv:1706.04156](https://arxiv.org/abs/1706.04156). Local stability of GAN training near
# an equilibrium ({doc}`nash`).
#
# (ref-mescheder2018)=
# **Mescheder, L., Geiger, A. & Nowozin, S.** (2018). Which training methods for GANs do
# actually converge? *International Conference on Machine Learning (ICML),* PMLR 80.
# [arXiv:1801.04406](https://arxiv.org/abs/1801.04406). Unregularised GAN training is not
# locally convergent at such an equilibrium in general; the R1 penalty on reals restores it
# ({doc}`nash`, {doc}`nll_vs_gan`).
#
# (ref-radford2016)=
# **Radford, A., Metz, L. & Chintala, S.** (2016). Unsupervised representation learning
# with deep convolutional generative adversarial networks. *ICLR.*
# [arXiv:1511.06434](https://arxiv.org/abs/1511.06434). The positive control's generator and
# Adam's beta1 = 0.5 ({doc}`nll_vs_gan`).
#
# (ref-gulrajani2017)=
# **Gulrajani, I., Ahmed, F., Arjovsky, M., Dumoulin, V. & Courville, A.** (2017). Improved
# training of Wasserstein GANs. *NeurIPS.* [arXiv:1704.00028](https://arxiv.org/abs/1704.00028).
# WGAN-GP ({doc}`nll_vs_gan`).
#
# (ref-miyato2018)=
# **Miyato, T., Kataoka, T., Koyama, M. & Yoshida, Y.** (2018). Spectral normalization for
# generative adversarial networks. *ICLR.* [arXiv:1802.05957](https://arxiv.org/abs/1802.05957).
# The spectrally normalised discriminator ({doc}`nash`).
#
# (ref-grover2018)=
# **Grover, A., Dhar, M. & Ermon, S.** (2018). Flow-GAN: combining maximum likelihood and
# adversarial learning in generative models. *AAAI Conference on Artificial Intelligence.*
# [arXiv:1705.08868](https://arxiv.org/abs/1705.08868). The hybrid loss and WGAN-GP settings
# ({doc}`nll_vs_gan`).
#
# (ref-danihelka2017)=
# **Danihelka, I., Lakshminarayanan, B., Uria, B., Wierstra, D. & Dayan, P.** (2017).
# Comparison of maximum likelihood and GAN-based training of Real NVPs.
# [arXiv:1705.05263](https://arxiv.org/abs/1705.05263) ({doc}`nll_vs_gan`).
#
# (ref-lucic2018)=
# **Lucic, M., Kurach, K., Michalski, M., Gelly, S. & Bousquet, O.** (2018). Are GANs
# created equal? A large-scale study. *NeurIPS.* [arXiv:1711.10337](https://arxiv.org/abs/1711.10337).
# Searches of equal size (configurations), reported as distributions ({doc}`nll_vs_gan`).
#
# ## Measuring image quality
#
# (ref-heusel2017)=
# **Heusel, M., Ramsauer, H., Unterthiner, T., Nessler, B. & Hochreiter, S.** (2017). GANs
# trained by a two time-scale update rule converge to a local Nash equilibrium. *NeurIPS.*
# [arXiv:1706.08500](https://arxiv.org/abs/1706.08500). The Fréchet Inception Distance and
# TTUR ({doc}`measuring_quality`); its reference implementation, TF-FID, is
# <https://github.com/bioinf-jku/TTUR>.
#
# (ref-szegedy2016)=
# **Szegedy, C., Vanhoucke, V., Ioffe, S., Shlens, J. & Wojna, Z.** (2016). Rethinking the
# Inception architecture for computer vision. *IEEE Conference on Computer Vision and
# Pattern Recognition (CVPR).* [arXiv:1512.00567](https://arxiv.org/abs/1512.00567). The
# Inception network whose features define FID ({doc}`measuring_quality`).
#
# (ref-kynkaanniemi2019)=
# **Kynkäänniemi, T., Karras, T., Laine, S., Lehtinen, J. & Aila, T.** (2019). Improved
# precision and recall metric for assessing generative models. *NeurIPS.*
# [arXiv:1904.06991](https://arxiv.org/abs/1904.06991). The $k$-nearest-neighbour precision and
# recall ({doc}`measuring_quality`).
#
# (ref-seitzer-pytorch-fid)=
# **Seitzer, M.** (2020). pytorch-fid: FID score for PyTorch.
# <https://github.com/mseitzer/pytorch-fid>. The PyTorch port of TF-FID's Inception
# network ({doc}`measuring_quality`).
#
# (ref-parmar2022)=
# **Parmar, G., Zhang, R. & Zhu, J.-Y.** (2022). On aliased resizing and surprising
# subtleties in GAN evaluation. *CVPR.* [arXiv:2104.11222](https://arxiv.org/abs/2104.11222).
# clean-fid: how resizing and quantisation change FID ({doc}`measuring_quality`).
#
# (ref-karras2019)=
# **Karras, T., Laine, S. & Aila, T.** (2019). A style-based generator architecture for
# generative adversarial networks. *CVPR.* [arXiv:1812.04948](https://arxiv.org/abs/1812.04948).
# StyleGAN, one of the code bases that share the Inception graph ({doc}`measuring_quality`).
#
# ## Data
#
# (ref-lecun1998)=
# **LeCun, Y., Bottou, L., Bengio, Y. & Haffner, P.** (1998). Gradient-based learning applied
# to document recognition. *Proceedings of the IEEE* 86(11), 2278–2324.
# [doi:10.1109/5.726791](https://doi.org/10.1109/5.726791). MNIST, and the LeNet family of
# classifiers behind the book's MNIST-domain FID ({doc}`data`, {doc}`measuring_quality`).
