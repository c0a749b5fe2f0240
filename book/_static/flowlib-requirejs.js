// The widget manager (embed-amd.js, bundled under _static/vendor) is a set of AMD
// modules: point RequireJS at this _static folder, wherever the page sits in the book,
// so it and its font files (_static/@jupyter-widgets/html-manager/dist/) load from the
// book itself and never from a CDN.
(function () {
  var here = document.currentScript && document.currentScript.src;
  var base = here ? here.substring(0, here.lastIndexOf("/") + 1) : "_static/";
  if (window.requirejs) { window.requirejs.config({ baseUrl: base }); }
})();
