/* netpoll-diagnose HTML report: hover details, flame-graph zoom, a render self-check.
   Hand-written, inlined; the page works without it (SVG <title> tooltips, <details>). */
(function () {
  "use strict";
  var CHAR_W = 6.6; // px per character of the 11px monospace labels

  function fit(name, width) {
    var n = Math.floor((width - 6) / CHAR_W);
    if (n < 3) return "";
    return name.length <= n ? name : name.slice(0, n - 1) + "\u2026";
  }

  // Hover: show the hovered element's details under its figure.
  document.querySelectorAll("svg[data-tip-target]").forEach(function (svg) {
    var out = document.getElementById(svg.getAttribute("data-tip-target"));
    if (!out) return;
    svg.addEventListener("mouseover", function (e) {
      var el = e.target.closest("[data-tip]");
      if (el) out.textContent = el.getAttribute("data-tip");
    });
  });

  // Flame graphs: click a frame to zoom into it, click the root ("all") to zoom out.
  document.querySelectorAll("svg.flame").forEach(function (svg) {
    var x0 = parseFloat(svg.getAttribute("data-x0")), w = parseFloat(svg.getAttribute("data-w"));
    var frames = Array.prototype.slice.call(svg.querySelectorAll("g.f"));
    function zoom(zx, zw, zd) {
      frames.forEach(function (g) {
        var fx = parseFloat(g.getAttribute("data-x")), fw = parseFloat(g.getAttribute("data-w"));
        var d = parseInt(g.getAttribute("data-d"), 10);
        var nx, nw;
        if (d < zd) { nx = 0; nw = 1; }                       // ancestors span the width
        else { nx = (fx - zx) / zw; nw = fw / zw; }
        var visible = nx < 1 - 1e-9 && nx + nw > 1e-9 && (d < zd || (fx >= zx - 1e-9 && fx + fw <= zx + zw + 1e-9));
        g.style.display = visible ? "" : "none";
        if (!visible) return;
        var r = g.querySelector("rect"), t = g.querySelector("text");
        var px = x0 + nx * w, pw = Math.max(nw * w, 0.5);
        r.setAttribute("x", px.toFixed(2)); r.setAttribute("width", pw.toFixed(2));
        r.style.opacity = d < zd ? "0.55" : "";
        if (t) { t.setAttribute("x", (px + 3).toFixed(2)); t.textContent = fit(g.getAttribute("data-n"), pw); }
      });
    }
    svg.addEventListener("click", function (e) {
      var g = e.target.closest("g.f");
      if (!g) return;
      var d = parseInt(g.getAttribute("data-d"), 10);
      if (d === 0) zoom(0, 1, 0);
      else zoom(parseFloat(g.getAttribute("data-x")), parseFloat(g.getAttribute("data-w")), d);
    });
  });

  // Expand/collapse every stack of the findings.
  document.querySelectorAll("button[data-toggle-details]").forEach(function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("data-open") !== "1";
      document.querySelectorAll("details.stack").forEach(function (d) { d.open = open; });
      b.setAttribute("data-open", open ? "1" : "0");
      b.textContent = open ? "collapse all stacks" : "expand all stacks";
    });
  });

  // Self-check (read by the report's browser test): what the browser actually laid out.
  // Each chart exists wide and narrow; only the copy the stylesheet shows counts.
  var shown = Array.prototype.filter.call(document.querySelectorAll("svg"), function (svg) {
    return getComputedStyle(svg).display !== "none";
  });
  var drawn = 0, marks = 0, frames = 0;
  shown.forEach(function (svg) {
    svg.querySelectorAll("rect").forEach(function (r) {
      var b = r.getBBox();
      if (b.width > 0 && b.height > 0) drawn++;
    });
    if (svg.classList.contains("timeline")) marks += svg.querySelectorAll(".seg").length;
    if (svg.classList.contains("flame")) frames += svg.querySelectorAll("g.f").length;
  });
  document.body.setAttribute("data-rendered", "svgs=" + shown.length + " rects=" + drawn + " segments=" + marks +
    " frames=" + frames);
})();
