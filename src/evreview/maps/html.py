"""The interactive evidence-gap map: one self-contained HTML file that works from ``file://``.

Security: titles and abstracts come from outside, so the page never builds HTML from data.
The data travel as JSON inside a ``<script type="application/json">`` block with ``<``, ``>``
and ``&`` escaped as ``\\u003c``..., and the script builds the DOM with ``textContent`` and
``createElement`` only. A Content-Security-Policy allows exactly the page's own script (by
its sha256), so even a missed escape could not run injected code. No CDN, no network.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any

import pandas as pd

from evreview.maps.cells import MapSpec, Vocabulary, split_codes

PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#1f78b4"]


def safe_json(data: Any) -> str:
    """JSON that cannot close the surrounding ``<script>`` element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def map_payload(
    coded: pd.DataFrame,
    spec: MapSpec,
    vocab: Vocabulary,
    *,
    title: str,
    dimension_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the page needs, as plain JSON-able data (sorted for byte-stable output)."""
    dims = [d for d in [spec.rows, spec.columns, spec.segment, *spec.filters] if d]
    studies = []
    for row in coded.sort_values("study_id").itertuples(index=False):
        rec = row._asdict()
        dbs = rec.get("source_databases")
        studies.append(
            {
                "id": str(rec["study_id"]),
                "t": str(rec.get("title") or ""),
                "y": int(rec["year"]) if pd.notna(rec.get("year")) and str(rec.get("year")) != "" else None,
                "j": str(rec.get("journal") or ""),
                "d": str(rec.get("doi") or ""),
                "db": split_codes(list(dbs) if hasattr(dbs, "__iter__") and not isinstance(dbs, str) else dbs),
                "c": {dim: split_codes(rec.get(dim)) for dim in dims},
            }
        )
    return {
        "title": title,
        "spec": {"rows": spec.rows, "columns": spec.columns, "segment": spec.segment or "",
                 "filters": list(spec.filters), "sparse": spec.sparse_threshold},
        "vocab": {dim: [list(pair) for pair in vocab[dim]] for dim in dims},
        "labels": dict(dimension_labels or {}),
        "palette": PALETTE,
        "studies": studies,
    }


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px;color:#222}
h1{font-size:1.3em;margin:0 0 4px}
#summary{color:#555;margin-bottom:8px}
#filters{display:flex;flex-wrap:wrap;gap:10px;align-items:end;margin:8px 0 12px;padding:8px;background:#f4f6f8;
border-radius:6px}
#filters label{display:flex;flex-direction:column;font-size:.8em;color:#444}
#filters input{width:6em}
table.egm{border-collapse:collapse}
table.egm th{font-size:.85em;padding:4px 6px;background:#eef2f6;border:1px solid #ccd;max-width:11em}
table.egm td{border:1px solid #ccd;width:120px;height:86px;text-align:center;vertical-align:middle;cursor:pointer}
table.egm td.gap{background:repeating-linear-gradient(45deg,#fff,#fff 6px,#fbeaea 6px,#fbeaea 12px)}
table.egm td.sparse{background:#fff8e6}
table.egm td.sel{outline:3px solid #1f4e79}
td .n{font-size:.8em;color:#333}
#legend span{display:inline-block;margin-right:12px;font-size:.85em}
#legend i{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:4px;vertical-align:middle}
#studies{margin-top:14px}
#studies li{margin:3px 0}
#studies .meta{color:#666;font-size:.85em}
button{font-size:.85em}
"""

_JS = r"""
(function(){
"use strict";
var D=JSON.parse(document.getElementById("egm-data").textContent);
var S=D.spec, V=D.vocab, P=D.palette;
function el(tag,text,cls){var e=document.createElement(tag);if(text!==undefined&&text!==null){e.textContent=String(text);}
if(cls){e.className=cls;}return e;}
function lab(dim){return D.labels[dim]||dim;}
var state={ymin:null,ymax:null,f:{},db:"",sel:null};
var years=D.studies.map(function(s){return s.y;}).filter(function(y){return y!==null;});
var dbs={};D.studies.forEach(function(s){s.db.forEach(function(d){dbs[d]=1;});});
var F=document.getElementById("filters");
function addInput(name,ph,key){var l=el("label",name);var i=document.createElement("input");i.type="number";
i.placeholder=ph;i.id="f-"+key;i.addEventListener("input",function(){var v=parseInt(i.value,10);
state[key]=isNaN(v)?null:v;render();});l.appendChild(i);F.appendChild(l);}
addInput("Year from",years.length?Math.min.apply(null,years):"","ymin");
addInput("Year to",years.length?Math.max.apply(null,years):"","ymax");
function addSelect(name,id,options,onchange){var l=el("label",name);var s=document.createElement("select");s.id=id;
var a=el("option","All");a.value="";s.appendChild(a);options.forEach(function(o){var op=el("option",o[1]);op.value=o[0];
s.appendChild(op);});s.addEventListener("change",function(){onchange(s.value);render();});l.appendChild(s);
F.appendChild(l);}
var fdims=S.filters.slice();if(S.segment){fdims.unshift(S.segment);}
fdims.forEach(function(dim){addSelect(lab(dim),"f-"+dim,V[dim],function(v){state.f[dim]=v;});});
addSelect("Source database","f-db",Object.keys(dbs).sort().map(function(d){return [d,d];}),
function(v){state.db=v;});
function keep(s){if(state.ymin!==null&&(s.y===null||s.y<state.ymin)){return false;}
if(state.ymax!==null&&(s.y===null||s.y>state.ymax)){return false;}
if(state.db&&s.db.indexOf(state.db)<0){return false;}
for(var dim in state.f){var v=state.f[dim];if(v&&(s.c[dim]||[]).indexOf(v)<0){return false;}}return true;}
function has(s,dim,code){return (s.c[dim]||[]).indexOf(code)>=0;}
function bubbles(list){var NS="http://www.w3.org/2000/svg";var svg=document.createElementNS(NS,"svg");
svg.setAttribute("width","110");svg.setAttribute("height","56");
if(!S.segment){var r=list.length?Math.min(26,5+3*Math.sqrt(list.length)):0;if(r){var c=document.createElementNS(NS,"circle");
c.setAttribute("cx","55");c.setAttribute("cy","28");c.setAttribute("r",String(r));c.setAttribute("fill",P[0]);
svg.appendChild(c);}return svg;}
var segs=V[S.segment];var w=110/segs.length;segs.forEach(function(seg,i){var n=list.filter(function(s){
return has(s,S.segment,seg[0]);}).length;if(!n){return;}var c=document.createElementNS(NS,"circle");
c.setAttribute("cx",String(w*i+w/2));c.setAttribute("cy","28");c.setAttribute("r",String(Math.min(w/2,3+2.2*Math.sqrt(n))));
c.setAttribute("fill",P[i%P.length]);c.setAttribute("fill-opacity","0.85");svg.appendChild(c);});return svg;}
function render(){var studies=D.studies.filter(keep);var T=document.getElementById("grid");T.textContent="";
var head=document.createElement("tr");head.appendChild(el("th",lab(S.rows)+" \\ "+lab(S.columns)));
V[S.columns].forEach(function(c){head.appendChild(el("th",c[1]));});T.appendChild(head);
var gaps=0,sparse=0;
V[S.rows].forEach(function(r){var tr=document.createElement("tr");tr.appendChild(el("th",r[1]));
V[S.columns].forEach(function(c){var list=studies.filter(function(s){return has(s,S.rows,r[0])&&has(s,S.columns,c[0]);});
var td=document.createElement("td");td.dataset.row=r[0];td.dataset.column=c[0];td.dataset.n=String(list.length);
var tip=r[1]+" x "+c[1]+": "+list.length+" stud"+(list.length===1?"y":"ies");
if(S.segment){V[S.segment].forEach(function(seg){var n=list.filter(function(s){return has(s,S.segment,seg[0]);}).length;
tip+="\n"+seg[1]+": "+n;});}
td.title=tip;if(!list.length){td.className="gap";gaps++;}else if(list.length<=S.sparse){td.className="sparse";sparse++;}
if(state.sel&&state.sel[0]===r[0]&&state.sel[1]===c[0]){td.className+=" sel";}
td.appendChild(bubbles(list));td.appendChild(el("div",list.length?String(list.length):"gap","n"));
td.addEventListener("click",function(){state.sel=[r[0],c[0]];render();});tr.appendChild(td);});T.appendChild(tr);});
document.getElementById("summary").textContent=studies.length+" of "+D.studies.length+" included studies shown; "+
gaps+" empty cell(s), "+sparse+" sparse cell(s) (at most "+S.sparse+" studies).";
showCell(studies);}
function showCell(studies){var box=document.getElementById("studies");box.textContent="";if(!state.sel){
box.appendChild(el("p","Click a cell to list its studies."));return;}
var r=state.sel[0],c=state.sel[1];var list=studies.filter(function(s){return has(s,S.rows,r)&&has(s,S.columns,c);});
var rl=V[S.rows].filter(function(x){return x[0]===r;})[0][1],cl=V[S.columns].filter(function(x){return x[0]===c;})[0][1];
box.appendChild(el("h2",rl+" x "+cl+" ("+list.length+")"));
var b=el("button","Export this list (CSV)");b.id="export";b.addEventListener("click",function(){exportCsv(list,rl+"_"+cl);});
box.appendChild(b);var ul=document.createElement("ul");list.forEach(function(s){var li=document.createElement("li");
li.appendChild(el("span",s.t||"(untitled)","title"));li.appendChild(el("span"," "+[s.y,s.j].filter(Boolean).join(", "),"meta"));
if(/^10\.\d{4,9}\/\S+$/.test(s.d)){var a=el("a"," doi:"+s.d);a.href="https://doi.org/"+encodeURI(s.d);a.rel="noopener";
li.appendChild(a);}ul.appendChild(li);});box.appendChild(ul);}
function cell(v){v=v===null||v===undefined?"":String(v);if(/^[=+\-@\t\r]/.test(v)){v="'"+v;}
return '"'+v.replace(/"/g,'""')+'"';}
function exportCsv(list,name){var rows=[["study_id","title","year","journal","doi"].join(",")];
list.forEach(function(s){rows.push([s.id,s.t,s.y,s.j,s.d].map(cell).join(","));});
var blob=new Blob([rows.join("\n")+"\n"],{type:"text/csv"});var a=document.createElement("a");
a.href=URL.createObjectURL(blob);a.download=name.replace(/[^A-Za-z0-9_-]+/g,"_")+".csv";document.body.appendChild(a);
a.click();a.remove();}
var L=document.getElementById("legend");if(S.segment){L.appendChild(el("b",lab(S.segment)+": "));
V[S.segment].forEach(function(seg,i){var s=el("span");var dot=el("i");dot.style.background=P[i%P.length];
s.appendChild(dot);s.appendChild(document.createTextNode(seg[1]));L.appendChild(s);});}
render();
window.EGM_READY=true;
})();
"""


def render_map_html(payload: dict[str, Any]) -> str:
    """The self-contained page (deterministic for the same payload)."""
    script = _JS
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    title = html.escape(str(payload.get("title", "Evidence-gap map")))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"
        f"<title>{title}</title>\n<style>{_CSS}</style></head>\n<body>\n"
        f"<h1>{title}</h1>\n<div id=\"summary\"></div>\n<div id=\"filters\"></div>\n<div id=\"legend\"></div>\n"
        "<table class=\"egm\" id=\"grid\"></table>\n<div id=\"studies\"></div>\n"
        f"<script type=\"application/json\" id=\"egm-data\">{safe_json(payload)}</script>\n"
        f"<script>{script}</script>\n</body></html>\n"
    )
