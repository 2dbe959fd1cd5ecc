// Interactive evidence-gap map. Builds the DOM from the JSON data block with textContent
// and createElement only: never innerHTML, so titles and abstracts cannot inject markup.
// Pinned by sha256 in the page's Content-Security-Policy (see html.py).
(function() {
  "use strict";
  var D = JSON.parse(document.getElementById("egm-data").textContent);
  var S = D.spec,
    V = D.vocab,
    P = D.palette;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) {
      e.textContent = String(text);
    }
    if (cls) {
      e.className = cls;
    }
    return e;
  }

  function lab(dim) {
    return D.labels[dim] || dim;
  }
  var state = {
    ymin: null,
    ymax: null,
    f: {},
    db: "",
    sel: null
  };
  var years = D.studies.map(function(s) {
    return s.y;
  }).filter(function(y) {
    return y !== null;
  });
  var dbs = {};
  D.studies.forEach(function(s) {
    s.db.forEach(function(d) {
      dbs[d] = 1;
    });
  });
  var F = document.getElementById("filters");

  function addInput(name, ph, key) {
    var l = el("label", name);
    var i = document.createElement("input");
    i.type = "number";
    i.placeholder = ph;
    i.id = "f-" + key;
    i.addEventListener("input", function() {
      var v = parseInt(i.value, 10);
      state[key] = isNaN(v) ? null : v;
      render();
    });
    l.appendChild(i);
    F.appendChild(l);
  }
  addInput("Year from", years.length ? Math.min.apply(null, years) : "", "ymin");
  addInput("Year to", years.length ? Math.max.apply(null, years) : "", "ymax");

  function addSelect(name, id, options, onchange) {
    var l = el("label", name);
    var s = document.createElement("select");
    s.id = id;
    var a = el("option", "All");
    a.value = "";
    s.appendChild(a);
    options.forEach(function(o) {
      var op = el("option", o[1]);
      op.value = o[0];
      s.appendChild(op);
    });
    s.addEventListener("change", function() {
      onchange(s.value);
      render();
    });
    l.appendChild(s);
    F.appendChild(l);
  }
  var fdims = S.filters.slice();
  if (S.segment && fdims.indexOf(S.segment) < 0) {
    fdims.unshift(S.segment);  // a filter on the segment dimension too: one drop-down, one id
  }
  fdims.forEach(function(dim) {
    addSelect(lab(dim), "f-" + dim, V[dim], function(v) {
      state.f[dim] = v;
    });
  });
  addSelect("Source database", "f-db", Object.keys(dbs).sort().map(function(d) {
      return [d, d];
    }),
    function(v) {
      state.db = v;
    });

  function keep(s) {
    if (state.ymin !== null && (s.y === null || s.y < state.ymin)) {
      return false;
    }
    if (state.ymax !== null && (s.y === null || s.y > state.ymax)) {
      return false;
    }
    if (state.db && s.db.indexOf(state.db) < 0) {
      return false;
    }
    for (var dim in state.f) {
      var v = state.f[dim];
      if (v && (s.c[dim] || []).indexOf(v) < 0) {
        return false;
      }
    }
    return true;
  }

  function has(s, dim, code) {
    return (s.c[dim] || []).indexOf(code) >= 0;
  }

  function bubbles(list) {
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", "110");
    svg.setAttribute("height", "56");
    if (!S.segment) {
      var r = list.length ? Math.min(26, 5 + 3 * Math.sqrt(list.length)) : 0;
      if (r) {
        var c = document.createElementNS(NS, "circle");
        c.setAttribute("cx", "55");
        c.setAttribute("cy", "28");
        c.setAttribute("r", String(r));
        c.setAttribute("fill", P[0]);
        svg.appendChild(c);
      }
      return svg;
    }
    var segs = V[S.segment];
    var w = 110 / segs.length;
    segs.forEach(function(seg, i) {
      var n = list.filter(function(s) {
        return has(s, S.segment, seg[0]);
      }).length;
      if (!n) {
        return;
      }
      var c = document.createElementNS(NS, "circle");
      c.setAttribute("cx", String(w * i + w / 2));
      c.setAttribute("cy", "28");
      c.setAttribute("r", String(Math.min(w / 2, 3 + 2.2 * Math.sqrt(n))));
      c.setAttribute("fill", P[i % P.length]);
      c.setAttribute("fill-opacity", "0.85");
      svg.appendChild(c);
    });
    return svg;
  }

  function render() {
    var studies = D.studies.filter(keep);
    var T = document.getElementById("grid");
    T.textContent = "";
    var head = document.createElement("tr");
    head.appendChild(el("th", lab(S.rows) + " \\ " + lab(S.columns)));
    V[S.columns].forEach(function(c) {
      head.appendChild(el("th", c[1]));
    });
    T.appendChild(head);
    var gaps = 0,
      sparse = 0;
    V[S.rows].forEach(function(r) {
      var tr = document.createElement("tr");
      tr.appendChild(el("th", r[1]));
      V[S.columns].forEach(function(c) {
        var list = studies.filter(function(s) {
          return has(s, S.rows, r[0]) && has(s, S.columns, c[0]);
        });
        var td = document.createElement("td");
        td.dataset.row = r[0];
        td.dataset.column = c[0];
        td.dataset.n = String(list.length);
        var tip = r[1] + " x " + c[1] + ": " + list.length + " stud" + (list.length === 1 ? "y" : "ies");
        if (S.segment) {
          V[S.segment].forEach(function(seg) {
            var n = list.filter(function(s) {
              return has(s, S.segment, seg[0]);
            }).length;
            tip += "\n" + seg[1] + ": " + n;
          });
        }
        td.title = tip;
        if (!list.length) {
          td.className = "gap";
          gaps++;
        } else if (list.length <= S.sparse) {
          td.className = "sparse";
          sparse++;
        }
        if (state.sel && state.sel[0] === r[0] && state.sel[1] === c[0]) {
          td.className += " sel";
        }
        td.appendChild(bubbles(list));
        td.appendChild(el("div", list.length ? String(list.length) : "gap", "n"));
        td.addEventListener("click", function() {
          state.sel = [r[0], c[0]];
          render();
        });
        tr.appendChild(td);
      });
      T.appendChild(tr);
    });
    // a study without a row or a column code sits in no cell: say how many, or the cells look complete
    var placed = function(s, dim) {
      return V[dim].some(function(v) {
        return has(s, dim, v[0]);
      });
    };
    var off = studies.filter(function(s) {
      return !placed(s, S.rows) || !placed(s, S.columns);
    }).length;
    document.getElementById("summary").textContent = studies.length + " of " + D.studies.length + " included studies shown; " +
      gaps + " empty cell(s), " + sparse + " sparse cell(s) (at most " + S.sparse + " studies)." +
      (off ? " " + off + " of the studies shown " + (off === 1 ? "has" : "have") + " no " + lab(S.rows) +
        " or no " + lab(S.columns) + " code and " + (off === 1 ? "is" : "are") + " in no cell." : "");
    showCell(studies);
  }

  function showCell(studies) {
    var box = document.getElementById("studies");
    box.textContent = "";
    if (!state.sel) {
      box.appendChild(el("p", "Click a cell to list its studies."));
      return;
    }
    var r = state.sel[0],
      c = state.sel[1];
    var list = studies.filter(function(s) {
      return has(s, S.rows, r) && has(s, S.columns, c);
    });
    var rl = V[S.rows].filter(function(x) {
        return x[0] === r;
      })[0][1],
      cl = V[S.columns].filter(function(x) {
        return x[0] === c;
      })[0][1];
    box.appendChild(el("h2", rl + " x " + cl + " (" + list.length + ")"));
    var b = el("button", "Export this list (CSV)");
    b.id = "export";
    b.addEventListener("click", function() {
      exportCsv(list, rl + "_" + cl);
    });
    box.appendChild(b);
    var ul = document.createElement("ul");
    list.forEach(function(s) {
      var li = document.createElement("li");
      li.appendChild(el("span", s.t || "(untitled)", "title"));
      li.appendChild(el("span", " " + [s.y, s.j].filter(Boolean).join(", "), "meta"));
      if (/^10\.\d{4,9}\/\S+$/.test(s.d)) {
        var a = el("a", " doi:" + s.d);
        a.href = "https://doi.org/" + encodeURI(s.d);
        a.rel = "noopener";
        li.appendChild(a);
      }
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  function cell(v) {
    v = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(v)) {
      v = "'" + v;
    }
    return '"' + v.replace(/"/g, '""') + '"';
  }

  function exportCsv(list, name) {
    var rows = [
      ["study_id", "title", "year", "journal", "doi"].join(",")
    ];
    list.forEach(function(s) {
      rows.push([s.id, s.t, s.y, s.j, s.d].map(cell).join(","));
    });
    var blob = new Blob([rows.join("\n") + "\n"], {
      type: "text/csv"
    });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name.replace(/[^A-Za-z0-9_-]+/g, "_") + ".csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
  var L = document.getElementById("legend");
  if (S.segment) {
    L.appendChild(el("b", lab(S.segment) + ": "));
    V[S.segment].forEach(function(seg, i) {
      var s = el("span");
      var dot = el("i");
      dot.style.background = P[i % P.length];
      s.appendChild(dot);
      s.appendChild(document.createTextNode(seg[1]));
      L.appendChild(s);
    });
  }
  render();
  window.EGM_READY = true;
})();