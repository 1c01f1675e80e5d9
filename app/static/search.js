// Search page, progressive enhancement only: the page works the same without it.
// - "/" focuses the search box (unless typing in a field already);
// - on a narrow screen the facet panel starts folded, so results come first;
// - a facet's "更多" search box filters its values as one types (the form still submits);
// - the search box offers completions from /api/suggest in its <datalist>.
(function () {
  "use strict";
  var box = document.getElementById("q");
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (event.key === "/" && box && tag !== "INPUT" && tag !== "TEXTAREA" && tag !== "SELECT") {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });
  var facets = document.querySelector("details.facets");
  if (facets && window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    facets.open = false;
  }

  Array.prototype.forEach.call(document.querySelectorAll(".facet-more"), function (more) {
    var input = more.querySelector("input[name=more_q]");
    var items = more.querySelectorAll(".facet-rest li");
    if (!input) {
      return;
    }
    input.addEventListener("input", function () {
      var wanted = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(items, function (item) {
        var value = item.querySelector(".value");
        item.hidden = !!wanted && !!value && value.textContent.toLowerCase().indexOf(wanted) < 0;
      });
    });
  });

  var list = document.getElementById("q-suggestions");
  if (!box || !list || !window.fetch) {
    return;
  }
  var timer = null;
  var asked = "";
  function lastWord() {
    var parts = box.value.split(/\s+/);
    return { head: parts.slice(0, -1).join(" "), word: parts[parts.length - 1] || "" };
  }
  box.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var typed = lastWord();
      var prefix = typed.word.replace(/^[-－("“（]+/, "");
      if (!prefix || prefix === asked || prefix.indexOf(":") >= 0 || prefix.indexOf("：") >= 0) {
        return;
      }
      asked = prefix;
      window.fetch("/api/suggest?limit=10&prefix=" + encodeURIComponent(prefix))
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (body) {
          if (prefix !== asked) {
            return;
          }
          while (list.firstChild) {
            list.removeChild(list.firstChild);
          }
          var lead = typed.word.slice(0, typed.word.length - prefix.length);
          body.suggestions.forEach(function (s) {
            var option = document.createElement("option");
            option.value = (typed.head ? typed.head + " " : "") + lead + s.text;
            option.label = s.text + "（" + s.passages + " 段）";
            list.appendChild(option);
          });
        })
        .catch(function () { /* suggestions are optional */ });
    }, 150);
  });
})();
