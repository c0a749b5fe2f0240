# Two commands are the contract (see README): `make book` and `make test`.
# Each sets up what it needs on a fresh machine; a second run redoes nothing.
PRESET ?= quick
NAME ?=
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
VENDOR := book/_static/vendor
# embed-amd.js asks for its fonts beside its AMD module id, under _static/, and for the
# icon font of buttons one level up, under _static/@jupyter-widgets/
WIDGETS_DIST := book/_static/@jupyter-widgets/html-manager/dist
HTML_MANAGER := @jupyter-widgets/html-manager@1.0.6
REQUIREJS := requirejs@2.3.4
PRESETS := smoke quick full

.PHONY: book chapter test install vendor chromium slurm clean check-preset help wheel

help:
	@echo "make book [PRESET=quick|smoke|full]   execute the chapters, build _build/html/index.html"
	@echo "make chapter NAME=<chapter> [PRESET=]  re-execute one chapter, rebuild the HTML"
	@echo "make test                               run the test suite (installs what it needs)"
	@echo "make wheel                              build dist/flowlib-*.whl (pip install it anywhere;"
	@echo "                                        FLOWLIB_RESULTS=<a clone's results/> for the shipped runs)"

check-preset:
	@case " $(PRESETS) " in *" $(PRESET) "*) ;; \
	  *) echo "error: unknown PRESET '$(PRESET)'. Use one of: $(PRESETS) (smoke: seconds, CI;" \
	          "quick: minutes on a laptop CPU; full: a GPU), e.g. 'make book PRESET=quick'." >&2; \
	     exit 2;; esac

$(PY):
	python3 -m venv $(VENV)

$(INSTALLED): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

install: $(INSTALLED)

wheel: $(INSTALLED)
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist .
	@ls dist/flowlib-*.whl

# The widget manager, RequireJS and MathJax, served from the book's own _static, so
# the built book loads no script from the internet. Pinned versions; fetched once.
MATHJAX := mathjax@3.2.2
# html-manager 1.0.6 typesets with the MathJax 2 API (MathJax.Hub.Queue), which the
# MathJax 3 of Jupyter Book lacks: a TypeError on every page with math and widgets.
TYPESET_OLD := void 0!==window.MathJax&&MathJax.Hub.Queue(["Typeset",MathJax.Hub,e])
TYPESET_NEW := void 0!==window.MathJax\&\&(MathJax.Hub?MathJax.Hub.Queue(["Typeset",MathJax.Hub,e]):MathJax.typesetPromise\&\&MathJax.typesetPromise([e]))
$(VENDOR)/.stamp: Makefile
	@command -v npm >/dev/null || { echo "error: npm is needed once to fetch the book's JavaScript ($(HTML_MANAGER), $(REQUIREJS), $(MATHJAX)); install Node.js/npm and rerun." >&2; exit 2; }
	rm -rf $(VENDOR) book/_static/@jupyter-widgets && mkdir -p $(VENDOR)/.pack $(WIDGETS_DIST) $(VENDOR)/mathjax/output/chtml/fonts
	cd $(VENDOR)/.pack && npm pack --silent $(HTML_MANAGER) $(REQUIREJS) $(MATHJAX) >/dev/null
	cd $(VENDOR)/.pack && for t in *.tgz; do mkdir -p "$${t%.tgz}" && tar xzf "$$t" -C "$${t%.tgz}"; done
	cp $(VENDOR)/.pack/requirejs-*/package/require.js $(VENDOR)/require.js
	grep -qF '$(TYPESET_OLD)' $(VENDOR)/.pack/jupyter-widgets-html-manager-*/package/dist/embed-amd.js
	sed 's/$(subst [,\[,$(subst ],\],$(subst .,\.,$(TYPESET_OLD))))/$(TYPESET_NEW)/' \
	   $(VENDOR)/.pack/jupyter-widgets-html-manager-*/package/dist/embed-amd.js > $(VENDOR)/embed-amd.js
	grep -qF 'MathJax.typesetPromise([e])' $(VENDOR)/embed-amd.js
	cp $(VENDOR)/.pack/jupyter-widgets-html-manager-*/package/dist/*.woff* \
	   $(VENDOR)/.pack/jupyter-widgets-html-manager-*/package/dist/*.ttf \
	   $(VENDOR)/.pack/jupyter-widgets-html-manager-*/package/dist/*.eot \
	   $(VENDOR)/.pack/jupyter-widgets-html-manager-*/package/dist/*.svg $(WIDGETS_DIST)/
	cp $(WIDGETS_DIST)/* $(WIDGETS_DIST)/../..  # the icon font (Button icons) is asked for here
	cp $(VENDOR)/.pack/mathjax-*/package/es5/tex-mml-chtml.js $(VENDOR)/mathjax/
	cp -r $(VENDOR)/.pack/mathjax-*/package/es5/output/chtml/fonts/woff-v2 $(VENDOR)/mathjax/output/chtml/fonts/
	rm -rf $(VENDOR)/.pack
	touch $@

vendor: $(VENDOR)/.stamp

book: check-preset $(INSTALLED) $(VENDOR)/.stamp
	$(PY) -m flowlib book build --preset $(PRESET)
	@echo "The book is at _build/html/index.html"

chapter: check-preset $(INSTALLED) $(VENDOR)/.stamp
	@test -n "$(NAME)" || { echo "error: which chapter? e.g. 'make chapter NAME=data'. Chapters: $$($(PY) -m flowlib book list | tr '\n' ' ')" >&2; exit 2; }
	$(PY) -m flowlib book chapter $(NAME) --preset $(PRESET)

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# a single-node Slurm for the cluster-path test (tests/studies/test_slurm.py starts and stops it)
slurm:
	@{ command -v slurmctld && command -v munged; } >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; }

test: $(INSTALLED) $(VENDOR)/.stamp chromium slurm
	$(PY) -m pytest tests

clean:
	rm -rf _build book/*.ipynb
