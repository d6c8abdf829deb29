/*
 * Signalfire web UI behaviour. Loaded with <script src="app.js" defer> after the vendored htmx and
 * (on pages with charts) Chart.js. The page CSP is `script-src 'self'` with no 'unsafe-eval' and no
 * 'unsafe-inline', so nothing here evaluates strings, injects <style>, or sets style attributes.
 * Every feature degrades to plain HTML: pages work with this file, htmx or Chart.js missing.
 */
(function () {
  "use strict";

  var doc = document;
  doc.documentElement.classList.add("js");

  /* ---------- htmx configuration ---------- */

  // Deferred scripts run before DOMContentLoaded, which is when htmx reads its config, so these
  // settings are in place before htmx processes the page. base.html should also carry the same values
  // in <meta name="htmx-config"> so the order of the script tags can never matter.
  if (window.htmx) {
    var config = window.htmx.config;
    config.allowEval = false; // no hx-on / js: values: they need eval, which the CSP blocks anyway
    config.allowScriptTags = false; // swapped fragments never run scripts
    config.includeIndicatorStyles = false; // htmx would inject a <style>; app.css styles indicators
    config.selfRequestsOnly = true;
    // Back/forward reloads from the server instead of restoring a sessionStorage snapshot: a snapshot
    // would keep marked pages (TLP:RED) in the browser after logout, skip the server's access check,
    // and restoring one would re-parse Chart.js's canvas style attributes (a CSP violation).
    config.historyCacheSize = 0;
    config.refreshOnHistoryMiss = true;
    // Forms re-render with 422 on validation errors (house style), so 422 is swapped like a success.
    config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
      { code: "...", swap: false },
    ];
  }

  function csrfToken() {
    var meta = doc.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  function isSameOrigin(path) {
    try {
      return new URL(path, window.location.href).origin === window.location.origin;
    } catch (e) {
      return false;
    }
  }

  // Read the token on every request, so a token the server rotates in the <meta> applies at once.
  doc.addEventListener("htmx:configRequest", function (evt) {
    var token = csrfToken();
    if (token && isSameOrigin(evt.detail.path)) {
      evt.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // A failed htmx request swaps nothing; without this the user would see no reaction at all.
  doc.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    showToast("error", "Request failed", status ? "The server answered " + status + "." : "");
  });
  doc.addEventListener("htmx:sendError", function () {
    showToast("error", "Network error", "The request did not reach the server. Check your connection.");
  });

  /* ---------- Toasts and dismissible messages ---------- */

  var DISMISSIBLE = ".toast, .flash, [data-dismissible]";

  function dismiss(el) {
    el.classList.add("is-leaving");
    window.setTimeout(function () {
      if (el.parentNode) {
        el.parentNode.removeChild(el);
      }
    }, 160);
  }

  function toastRegion() {
    var region = doc.getElementById("toasts");
    if (!region) {
      region = doc.createElement("div");
      region.id = "toasts";
      region.className = "toasts";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      doc.body.appendChild(region);
    }
    return region;
  }

  // Built with DOM calls and textContent only: the message may echo server text.
  function showToast(kind, title, text) {
    var toast = doc.createElement("div");
    toast.className = "toast toast-" + kind;
    toast.setAttribute("data-autohide", kind === "error" ? "10" : "5");
    var body = doc.createElement("div");
    body.className = "toast-body";
    var heading = doc.createElement("p");
    heading.className = "toast-title";
    heading.textContent = title;
    body.appendChild(heading);
    if (text) {
      var detail = doc.createElement("div");
      detail.textContent = text;
      body.appendChild(detail);
    }
    var close = doc.createElement("button");
    close.type = "button";
    close.className = "dismiss";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    toast.appendChild(body);
    toast.appendChild(close);
    toastRegion().appendChild(toast);
    scheduleAutohide(toast);
  }

  // <div class="toast" data-autohide="6"> disappears after 6 s; hovering keeps it.
  function scheduleAutohide(el) {
    if (el.hasAttribute("data-autohide-armed")) {
      return;
    }
    var seconds = parseFloat(el.getAttribute("data-autohide"));
    if (!(seconds > 0)) {
      return;
    }
    el.setAttribute("data-autohide-armed", "");
    var timer = null;
    function arm() {
      timer = window.setTimeout(function () {
        dismiss(el);
      }, seconds * 1000);
    }
    el.addEventListener("mouseenter", function () {
      window.clearTimeout(timer);
    });
    el.addEventListener("mouseleave", arm);
    arm();
  }

  doc.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-dismiss]");
    if (!button) {
      return;
    }
    var box = button.closest(DISMISSIBLE);
    if (box) {
      evt.preventDefault();
      dismiss(box);
    }
  });

  /* ---------- Confirmation ---------- */

  // data-confirm on a link or button asks on click; on a form it asks on submit. Capture phase, so a
  // "Cancel" stops the event before htmx's own listener on the element sees it.
  var CONFIRMABLE = "a[data-confirm], button[data-confirm], input[data-confirm]";
  var justConfirmed = null;

  function stop(evt) {
    evt.preventDefault();
    evt.stopImmediatePropagation();
  }

  doc.addEventListener(
    "click",
    function (evt) {
      var el = evt.target.closest(CONFIRMABLE);
      if (!el || el.disabled) {
        return;
      }
      if (!window.confirm(el.getAttribute("data-confirm"))) {
        stop(evt);
        return;
      }
      // A submit button's click is followed at once by the form's submit event: don't ask twice.
      justConfirmed = el;
      window.setTimeout(function () {
        justConfirmed = null;
      }, 0);
    },
    true
  );

  doc.addEventListener(
    "submit",
    function (evt) {
      var form = evt.target;
      var submitter = evt.submitter || null;
      if (submitter && submitter === justConfirmed) {
        return;
      }
      var text = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (text && !window.confirm(text)) {
        stop(evt);
      }
    },
    true
  );

  /* ---------- Auto-submitting forms ---------- */

  // <form data-autosubmit>: choosing in a select (or ticking a box) submits, e.g. the org switcher
  // and list filters. requestSubmit fires the submit event, so htmx and data-confirm still apply.
  doc.addEventListener("change", function (evt) {
    var field = evt.target;
    var form = field.form;
    if (!form || !form.hasAttribute("data-autosubmit")) {
      return;
    }
    var type = (field.type || "").toLowerCase();
    if (field.tagName !== "SELECT" && type !== "checkbox" && type !== "radio") {
      return;
    }
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });

  /* ---------- Countdown clocks ---------- */

  var MINUTE = 60;
  var HOUR = 3600;
  var DAY = 86400;

  // Two largest units, rounded down: "3 d 4 h", "26 h 5 min", "12 min", "less than 1 min".
  // Hours up to 48 h, because the common reporting clocks (24 h, 48 h, 72 h) are stated in hours.
  function formatSpan(seconds) {
    var s = Math.floor(seconds);
    if (s < MINUTE) {
      return "less than 1 min";
    }
    if (s >= 2 * DAY) {
      var d = Math.floor(s / DAY);
      var hd = Math.floor((s % DAY) / HOUR);
      return hd > 0 ? d + " d " + hd + " h" : d + " d";
    }
    var h = Math.floor(s / HOUR);
    var m = Math.floor((s % HOUR) / MINUTE);
    if (h > 0) {
      return m > 0 ? h + " h " + m + " min" : h + " h";
    }
    return m + " min";
  }

  function updateClock(el, nowMs) {
    var deadline = Date.parse(el.getAttribute("data-deadline"));
    if (isNaN(deadline)) {
      return;
    }
    if (!el.hasAttribute("datetime")) {
      el.setAttribute("datetime", el.getAttribute("data-deadline"));
    }
    // Keep the server-rendered absolute time reachable on hover once the text becomes relative.
    if (!el.hasAttribute("title")) {
      el.setAttribute("title", (el.textContent || "").trim() || new Date(deadline).toUTCString());
    }
    var left = (deadline - nowMs) / 1000;
    var total = parseFloat(el.getAttribute("data-total-seconds"));
    var warnBelow = total > 0 ? total * 0.25 : DAY;
    var state = left <= 0 ? "clock-late" : left < warnBelow ? "clock-warn" : "clock-ok";
    // A target is not a deadline: a clock may say "target passed" where lateness is judged elsewhere.
    var late = el.getAttribute("data-late-prefix") || "overdue by ";
    var text = left <= 0 ? late + formatSpan(-left) : formatSpan(left) + " left";
    if (el.textContent !== text) {
      el.textContent = text;
    }
    el.classList.add("clock");
    el.classList.remove("clock-ok", "clock-warn", "clock-late");
    el.classList.add(state);
  }

  function updateClocks(root) {
    var now = Date.now();
    each(root, "time[data-deadline]", function (el) {
      updateClock(el, now);
    });
  }

  window.setInterval(function () {
    updateClocks(doc);
  }, 30000);

  /* ---------- Charts ---------- */

  // Chart configs arrive as JSON in <script type="application/json" id="..."> (or <template id="...">):
  // inert data, not script, so the CSP has nothing to object to, and the server never builds JavaScript.
  var COLOR_KEYS = [
    "backgroundColor",
    "borderColor",
    "pointBackgroundColor",
    "pointBorderColor",
    "hoverBackgroundColor",
    "hoverBorderColor",
  ];

  function cssVar(name) {
    return getComputedStyle(doc.documentElement).getPropertyValue(name).trim();
  }

  // "--sev1" in chart JSON means the app.css token, so colours are defined in one place.
  function resolveColor(value) {
    if (typeof value === "string" && value.indexOf("--") === 0) {
      return cssVar(value) || value;
    }
    if (Array.isArray(value)) {
      return value.map(resolveColor);
    }
    return value;
  }

  function withAlpha(hex, alpha) {
    var m = /^#([0-9a-f]{6})$/i.exec(hex);
    if (!m) {
      return hex;
    }
    var n = parseInt(m[1], 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function palette() {
    var colors = [];
    for (var i = 1; i <= 7; i++) {
      colors.push(cssVar("--chart-" + i) || "#4f46e5");
    }
    return colors;
  }

  function applyColors(config) {
    var data = config.data || {};
    var datasets = data.datasets || [];
    var colors = palette();
    var perPoint = config.type === "pie" || config.type === "doughnut" || config.type === "polarArea";
    datasets.forEach(function (ds, i) {
      COLOR_KEYS.forEach(function (key) {
        if (key in ds) {
          ds[key] = resolveColor(ds[key]);
        }
      });
      var base = colors[i % colors.length];
      if (perPoint) {
        if (!("backgroundColor" in ds)) {
          ds.backgroundColor = (ds.data || []).map(function (_, j) {
            return colors[j % colors.length];
          });
        }
        if (!("borderColor" in ds)) {
          ds.borderColor = cssVar("--surface") || "#fff";
        }
        return;
      }
      var type = ds.type || config.type;
      if (!("borderColor" in ds)) {
        ds.borderColor = base;
      }
      if (!("backgroundColor" in ds)) {
        ds.backgroundColor = type === "line" ? withAlpha(base, 0.12) : base;
      }
    });
  }

  var chartDefaultsSet = false;

  function setChartDefaults(Chart) {
    if (chartDefaultsSet) {
      return;
    }
    chartDefaultsSet = true;
    var defaults = Chart.defaults;
    defaults.font.family = getComputedStyle(doc.body).fontFamily;
    defaults.font.size = 12;
    defaults.color = cssVar("--gray-600") || "#475467";
    defaults.borderColor = cssVar("--gray-200") || "#e3e6eb";
    defaults.maintainAspectRatio = false; // the .chart wrapper sets the height
    defaults.plugins.legend.labels.boxWidth = 10;
    defaults.plugins.legend.labels.boxHeight = 10;
    defaults.plugins.tooltip.backgroundColor = cssVar("--gray-900") || "#101828";
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      defaults.animation = false;
    }
  }

  function renderChart(canvas) {
    var Chart = window.Chart;
    if (Chart.getChart(canvas)) {
      return; // already drawn (init runs again after every swap)
    }
    var id = canvas.getAttribute("data-chart");
    var source = id ? doc.getElementById(id) : null;
    if (!source) {
      console.warn("signalfire: no chart data element #" + id);
      return;
    }
    var config;
    try {
      config = JSON.parse(source.tagName === "TEMPLATE" ? source.content.textContent : source.textContent);
    } catch (e) {
      console.error("signalfire: chart data #" + id + " is not valid JSON", e);
      canvas.classList.add("chart-error");
      return;
    }
    applyColors(config);
    if (!canvas.hasAttribute("role")) {
      canvas.setAttribute("role", "img");
    }
    if (!canvas.hasAttribute("aria-label")) {
      var title = config.options && config.options.plugins && config.options.plugins.title;
      canvas.setAttribute("aria-label", (title && title.text) || "Chart");
    }
    try {
      new Chart(canvas, config);
    } catch (e) {
      console.error("signalfire: chart #" + id + " could not be drawn", e);
      canvas.classList.add("chart-error");
    }
  }

  function renderCharts(root) {
    if (typeof window.Chart !== "function") {
      return; // page without Chart.js: canvases stay as their fallback content
    }
    setChartDefaults(window.Chart);
    each(root, "canvas[data-chart]", renderChart);
  }

  // With allowScriptTags = false htmx strips every <script> from swapped HTML, JSON data blocks
  // included. Just before the swap, turn those blocks into inert <template data-json> elements (same
  // id), which survive it. JSON from Jinja's |tojson has "<" and "&" escaped, so it parses as plain text.
  var JSON_SCRIPT = /<script\b([^>]*?)\btype\s*=\s*(["'])application\/json\2([^>]*)>([\s\S]*?)<\/script\s*>/gi;

  doc.addEventListener("htmx:beforeSwap", function (evt) {
    var html = evt.detail.serverResponse;
    if (typeof html === "string" && html.indexOf("application/json") !== -1) {
      evt.detail.serverResponse = html.replace(JSON_SCRIPT, "<template data-json$1$3>$4</template>");
    }
  });

  // htmx removes swapped-out nodes; destroy their charts so Chart.js drops its observers.
  doc.addEventListener("htmx:beforeCleanupElement", function (evt) {
    var el = evt.target;
    if (window.Chart && el.tagName === "CANVAS" && el.hasAttribute("data-chart")) {
      var chart = window.Chart.getChart(el);
      if (chart) {
        chart.destroy();
      }
    }
  });

  /* ---------- Initialisation ---------- */

  // Calls fn for every match in root, root itself included (htmx hands us the swapped element).
  function each(root, selector, fn) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    if (root.matches && root.matches(selector)) {
      fn(root);
    }
    Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
  }

  /* ---------- Tables wider than the screen ---------- */

  // A table that scrolls sideways (on a phone, say) must be reachable from the keyboard (WCAG 2.1.1):
  // its wrapper becomes a named, focusable region while it overflows, and stops being one when it fits.
  function markScrollable(wrap) {
    var overflows = wrap.scrollWidth > wrap.clientWidth + 1;
    if (overflows && !wrap.hasAttribute("tabindex")) {
      var card = wrap.closest(".card");
      var title = card && card.querySelector(".card-title");
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", (title ? title.textContent.trim() + ": " : "") + "table, scrolls sideways");
      wrap.setAttribute("data-scroll-region", "");
    } else if (!overflows && wrap.hasAttribute("data-scroll-region")) {
      ["tabindex", "role", "aria-label", "data-scroll-region"].forEach(function (name) {
        wrap.removeAttribute(name);
      });
    }
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      each(doc, ".table-wrap", markScrollable);
    }, 150);
  });

  // <form data-busy>: on submit, show its <progress data-busy-indicator> (a long but bounded request, e.g.
  // a STIX import) and keep the submit buttons from being pressed twice. Runs after data-confirm.
  doc.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (evt.defaultPrevented || !form.hasAttribute || !form.hasAttribute("data-busy")) {
      return;
    }
    each(form, "[data-busy-indicator]", function (el) {
      el.hidden = false;
    });
    form.setAttribute("aria-busy", "true");
  });

  // Idempotent, so it may run more than once on the same nodes (DOMContentLoaded, htmx:load, afterSwap).
  function init(root) {
    updateClocks(root);
    renderCharts(root);
    each(root, "[data-autohide]", scheduleAutohide);
    each(root, ".table-wrap", markScrollable);
  }

  doc.addEventListener("htmx:load", function (evt) {
    init(evt.target);
  });
  doc.addEventListener("htmx:afterSwap", function (evt) {
    init(evt.target);
  });

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", function () {
      init(doc);
    });
  } else {
    init(doc);
  }
})();
