// The stylesheet and the chart script embedded in every HTML report (private to html_report.cpp).
// Plain CSS and ES2017 JavaScript without libraries: the page must work offline in any browser.
#pragma once

namespace cats::html_assets {

inline constexpr const char* css = R"CSS(
:root{--bg:#f5f6f8;--card:#fff;--ink:#1f2933;--muted:#69707d;--line:#e3e6eb;--grid:#eef0f3;
--accent:#2563eb;--bh:#9aa3af;--up:#15803d;--down:#c2410c;--dd:#dc2626;--price:#334155}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:1180px;margin:0 auto;padding:24px 20px 48px}
header.top{margin-bottom:18px}
h1{font-size:22px;font-weight:650;margin:0 0 4px;letter-spacing:-.01em}
h2{font-size:15px;font-weight:650;margin:0 0 12px;letter-spacing:.01em}
.sub{color:var(--muted);font-size:13px}
.sub b{color:var(--ink);font-weight:600}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;
margin-bottom:16px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:16px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.kpi .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .v{font-size:22px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums}
.pos{color:var(--up)}.neg{color:var(--down)}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}
.chip{background:#eef2ff;color:#3730a3;border-radius:999px;padding:2px 10px;font-size:12px;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.chip.fail{background:#fee2e2;color:#991b1b}
.grid3{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:0 28px;align-items:start}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
table.kv td{padding:5px 0;border-bottom:1px solid var(--grid)}
table.kv td:last-child{text-align:right;font-weight:600}
table.kv td small{color:var(--muted);font-weight:400}
table.kv tr.h td,table.kv tr.h td:last-child{text-align:left;font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em;
border-bottom:1px solid var(--line);padding-top:10px}
table.data th,table.data td{padding:5px 8px;text-align:right;white-space:nowrap;
border-bottom:1px solid var(--grid)}
table.data th{position:sticky;top:0;background:#fafbfc;color:var(--muted);font-weight:600;
font-size:12px;border-bottom:1px solid var(--line)}
table.data td.t,table.data th.t{text-align:left}
table.data tbody tr:hover td{background:#f8fafc}
.scroll{max-height:520px;overflow:auto;border:1px solid var(--line);border-radius:8px}
.hscroll{overflow-x:auto}
table.months td{text-align:center;padding:6px 4px;border:1px solid #fff;font-size:12.5px}
table.months th{font-size:12px;color:var(--muted);font-weight:600;padding:4px}
table.months td.y{font-weight:650;text-align:left;color:var(--ink);background:none}
table.months td.tot{font-weight:650}
table.cal td.d{min-width:15px;height:15px;padding:0}
table.cal th{font-weight:500;font-size:10.5px;padding:2px 1px}
.legend label{margin-left:auto;cursor:pointer}.legend label+label{margin-left:0}
.legend input{vertical-align:middle;margin:0 4px 0 0}
.note{color:var(--muted);font-size:12.5px;margin:8px 0 0}
.warn{background:#fffbeb;border:1px solid #fde68a;color:#92400e;border-radius:8px;padding:8px 12px;
font-size:13px;margin-bottom:16px}
.chart{position:relative}
.chart svg{display:block;width:100%;overflow:visible}
.legend{display:flex;gap:16px;font-size:12.5px;color:var(--muted);margin:-4px 0 6px}
.legend i{display:inline-block;width:14px;height:3px;border-radius:2px;vertical-align:middle;margin-right:6px}
.legend i.tri{width:0;height:0;border-radius:0;border-left:5px solid transparent;
border-right:5px solid transparent}
.tip{position:absolute;pointer-events:none;background:rgba(17,24,39,.92);color:#fff;font-size:12px;
padding:6px 8px;border-radius:6px;white-space:nowrap;display:none;z-index:5;
font-variant-numeric:tabular-nums;line-height:1.4}
.axis text{fill:var(--muted);font-size:11px}
.axis line{stroke:var(--grid)}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
dl.notes{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.notes dt{color:var(--muted)}dl.notes dd{margin:0;font-weight:600}
@media (max-width:600px){.wrap{padding:14px 10px}.kpi .v{font-size:18px}}
)CSS";

// Shared chart code: scales, date and value ticks, line/area charts with markers and a tooltip,
// and the heat map. Every chart sets data-points on its svg; the page's main() sets
// body[data-rendered] to "ok", or to "error: ..." on any exception.
inline constexpr const char* chart_js = R"JS(
"use strict";
var SVGNS="http://www.w3.org/2000/svg";
function el(tag,attrs,parent){var e=document.createElementNS(SVGNS,tag);
 for(var k in attrs)e.setAttribute(k,attrs[k]);if(parent)parent.appendChild(e);return e;}
function pad2(n){return(n<10?"0":"")+n;}
var MON=["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"];
function fmtDate(ms,withTime){var d=new Date(ms);
 var s=d.getUTCFullYear()+"-"+pad2(d.getUTCMonth()+1)+"-"+pad2(d.getUTCDate());
 if(withTime)s+=" "+pad2(d.getUTCHours())+":"+pad2(d.getUTCMinutes());return s;}
function fmtNum(v,dec){if(v===null||!isFinite(v))return"n/a";
 return v.toLocaleString("en-US",{minimumFractionDigits:dec,maximumFractionDigits:dec});}
function niceStep(span,n){var raw=span/Math.max(1,n),p=Math.pow(10,Math.floor(Math.log10(raw))),f=raw/p;
 return(f<1.5?1:f<3?2:f<7?5:10)*p;}
function valueTicks(lo,hi,n){if(!(hi>lo)){hi=lo+1;}var st=niceStep(hi-lo,n),t=[];
 for(var v=Math.ceil(lo/st)*st;v<=hi+st*1e-9;v+=st)t.push(Math.abs(v)<st*1e-9?0:v);return{ticks:t,step:st};}
var DAY=864e5;
function dateTicks(lo,hi,n){var span=hi-lo,t=[],d,unit;
 var steps=[[36e5,"h"],[3*36e5,"h"],[6*36e5,"h"],[12*36e5,"h"],[DAY,"d"],[2*DAY,"d"],[7*DAY,"d"],
  [14*DAY,"d"],[1,"M"],[2,"M"],[3,"M"],[6,"M"],[12,"M"],[24,"M"],[60,"M"]];
 var approx={h:1,d:1,M:30.44*DAY},pick=steps[steps.length-1];
 for(var i=0;i<steps.length;i++){var len=steps[i][1]==="M"?steps[i][0]*approx.M:steps[i][0];
  if(span/len<=n){pick=steps[i];break;}}
 unit=pick[1];
 if(unit==="M"){d=new Date(lo);var y=d.getUTCFullYear(),m=d.getUTCMonth();
  m=Math.ceil((m+(d.getUTCDate()>1||d.getUTCHours()>0?1:0))/pick[0])*pick[0];
  for(;;){var ms=Date.UTC(y,m,1);if(ms>hi)break;if(ms>=lo)t.push(ms);m+=pick[0];}
 }else{var st=pick[0];for(var v=Math.ceil(lo/st)*st;v<=hi;v+=st)t.push(v);}
 var fmt=function(ms){var x=new Date(ms);
  if(unit==="h")return pad2(x.getUTCHours())+":00"+(x.getUTCHours()===0?" "+MON[x.getUTCMonth()]+" "+x.getUTCDate():"");
  if(unit==="d")return MON[x.getUTCMonth()]+" "+x.getUTCDate();
  return x.getUTCMonth()===0||pick[0]>=12?String(x.getUTCFullYear())+(pick[0]>=12?"":" "+MON[0]):MON[x.getUTCMonth()];};
 return{ticks:t,fmt:fmt};}
function lowerBound(a,x){var lo=0,hi=a.length;while(lo<hi){var mid=(lo+hi)>>1;if(a[mid]<x)lo=mid+1;else hi=mid;}return lo;}
// Text for innerHTML: series and parameter names come from strategies and configs.
function esc(t){return String(t).replace(/[&<>"']/g,function(c){
 return{"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c];});}
// The index of the point of a (sorted) nearest to x; -1 when a is empty.
function nearest(a,x){if(!a.length)return -1;var i=lowerBound(a,x);
 if(i>=a.length||(i>0&&x-a[i-1]<a[i]-x))i--;return i;}

// opts: {height, series:[{name,color,xs,ys,width,area,dash,candle}], markers:[{x,y,kind}], yFmt,
//        tipFmt, band:[x0,x1], yMin, yMax, xRange:[lo,hi],
//        candles:{xs,o,h,l,c} with showCandles() (then series flagged candle are not drawn),
//        log() (log scale), zoom + view:{lo,hi} + onView() (wheel zooms, drag pans, double-click
//        resets; charts given one view object move together)}
function lineChart(host,opts){
 var svg=host.querySelector("svg"),tip=host.querySelector(".tip"),drag=null;
 window.addEventListener("mouseup",function(){drag=null;});
 var draw=function(){
  while(svg.firstChild)svg.removeChild(svg.firstChild);
  var W=Math.max(320,host.clientWidth||960),H=opts.height||300,M={l:64,r:16,t:10,b:28};
  svg.setAttribute("viewBox","0 0 "+W+" "+H);svg.setAttribute("height",H);
  var log=!!(opts.log&&opts.log()),ty=function(y){return log?(y>0?Math.log10(y):null):y;};
  var candles=opts.candles&&(!opts.showCandles||opts.showCandles())?opts.candles:null;
  var fx0=Infinity,fx1=-Infinity;
  opts.series.forEach(function(s){for(var i=0;i<s.xs.length;i++)if(s.ys[i]!==null){
   fx0=Math.min(fx0,s.xs[i]);fx1=Math.max(fx1,s.xs[i]);}});
  if(!isFinite(fx0))throw new Error("no data for "+host.id);
  if(opts.xRange){fx0=Math.min(fx0,opts.xRange[0]);fx1=Math.max(fx1,opts.xRange[1]);}
  if(fx1===fx0)fx1=fx0+DAY;
  var v=opts.view&&opts.view.lo!==undefined?opts.view:null;
  var xlo=v?v.lo:fx0,xhi=v?v.hi:fx1,ylo=Infinity,yhi=-Infinity,count=0,shown=0;
  var seen=function(x){return x>=xlo&&x<=xhi;};
  var widen=function(y){var t=ty(y);if(t===null||!isFinite(t))return;ylo=Math.min(ylo,t);yhi=Math.max(yhi,t);};
  opts.series.forEach(function(s){if(s.candle&&candles)return;
   for(var i=0;i<s.xs.length;i++)if(s.ys[i]!==null&&seen(s.xs[i]))widen(s.ys[i]);});
  if(candles)for(var c=0;c<candles.xs.length;c++)if(candles.h[c]!==null&&seen(candles.xs[c])){
   widen(candles.h[c]);widen(candles.l[c]);shown++;}
  (opts.markers||[]).forEach(function(m){if(seen(m.x))widen(m.y);});
  if(!isFinite(ylo)){ylo=0;yhi=1;}
  if(opts.yMin!==undefined)ylo=Math.min(ylo,opts.yMin);if(opts.yMax!==undefined)yhi=Math.max(yhi,opts.yMax);
  if(yhi===ylo){yhi+=Math.abs(yhi)*0.01+1;ylo-=Math.abs(ylo)*0.01+1;}
  var padY=(yhi-ylo)*0.04;if(opts.yMax===undefined)yhi+=padY;if(opts.yMin===undefined)ylo-=padY;
  var X=function(x){return M.l+(x-xlo)/(xhi-xlo)*(W-M.l-M.r);};
  var Yt=function(t){return M.t+(yhi-t)/(yhi-ylo)*(H-M.t-M.b);},Y=function(y){return Yt(ty(y));};
  var vt=log?valueTicks(Math.pow(10,ylo),Math.pow(10,yhi),Math.max(3,Math.round(H/60)))
            :valueTicks(ylo,yhi,Math.max(3,Math.round(H/60)));
  var ax=el("g",{"class":"axis"},svg);
  vt.ticks.forEach(function(t){var p=ty(t);if(p===null||p<ylo||p>yhi)return;var y=Yt(p);
   el("line",{x1:M.l,x2:W-M.r,y1:y,y2:y},ax);
   var tx=el("text",{x:M.l-8,y:y+3.5,"text-anchor":"end"},ax);tx.textContent=opts.yFmt(t,vt.step);});
  var dt=dateTicks(xlo,xhi,Math.max(3,Math.floor((W-M.l-M.r)/110)));
  dt.ticks.forEach(function(t){var x=X(t);el("line",{x1:x,x2:x,y1:M.t,y2:H-M.b},ax);
   var tx=el("text",{x:x,y:H-M.b+16,"text-anchor":"middle"},ax);tx.textContent=dt.fmt(t);});
  el("line",{x1:M.l,x2:W-M.r,y1:H-M.b,y2:H-M.b,stroke:"#cbd2d9"},svg);
  var cid=host.id+"-clip",defs=el("defs",{},svg),cp=el("clipPath",{id:cid},defs);
  el("rect",{x:M.l,y:0,width:W-M.l-M.r,height:H-M.b},cp);
  var g=el("g",{"clip-path":"url(#"+cid+")"},svg);
  if(opts.band){var b0=X(opts.band[0]),b1=X(opts.band[1]);
   el("rect",{x:b0,y:M.t,width:Math.max(1,b1-b0),height:H-M.t-M.b,fill:"#dc2626","fill-opacity":0.06},g);}
  if(candles){var cw=Math.max(1,Math.min(12,0.7*(W-M.l-M.r)/Math.max(1,shown))),n=0,cg=el("g",{},g);
   for(var k=0;k<candles.xs.length;k++){var o=candles.o[k],h=candles.h[k],l=candles.l[k],cl=candles.c[k];
    if(h===null||o===null||cl===null||!seen(candles.xs[k]))continue;var x=X(candles.xs[k]),up=cl>=o;
    var col=up?"#15803d":"#c2410c";n++;
    el("line",{x1:x,x2:x,y1:Y(h),y2:Y(l),stroke:col,"stroke-width":1},cg);
    var top=Y(Math.max(o,cl)),bot=Y(Math.min(o,cl));
    el("rect",{x:x-cw/2,y:top,width:cw,height:Math.max(1,bot-top),fill:col},cg);}
   svg.setAttribute("data-candles",n);count+=n;}
  opts.series.forEach(function(s){if(s.candle&&candles)return;var d="",first=-1,last=-1;
   for(var i=0;i<s.xs.length;i++){var t=s.ys[i]===null?null:ty(s.ys[i]);if(t===null)continue;
    d+=(first<0?"M":"L")+X(s.xs[i]).toFixed(1)+","+Yt(t).toFixed(1);if(first<0)first=i;last=i;count++;}
   if(first<0)return;
   if(s.area){var base=Yt(Math.max(ylo,Math.min(yhi,s.areaBase||0)));
    el("path",{d:d+"L"+X(s.xs[last]).toFixed(1)+","+base+"L"+X(s.xs[first]).toFixed(1)+","+base+"Z",
     fill:s.color,"fill-opacity":0.14,stroke:"none"},g);}
   el("path",{d:d,fill:"none",stroke:s.color,"stroke-width":s.width||1.6,"stroke-linejoin":"round",
    "stroke-dasharray":s.dash||"none"},g);});
  var mk=el("g",{},g);
  (opts.markers||[]).forEach(function(m){var x=X(m.x),y=Y(m.y),z=5;
   var d=m.kind>0?"M"+x+","+(y+2)+"l"+z+","+(z*1.7)+"h"+(-2*z)+"z":"M"+x+","+(y-2)+"l"+z+","+(-z*1.7)+"h"+(-2*z)+"z";
   el("path",{d:d,fill:m.kind>0?"#15803d":"#c2410c",stroke:"#fff","stroke-width":0.6},mk);});
  svg.setAttribute("data-points",count);
  svg.setAttribute("data-markers",(opts.markers||[]).length);
  svg.setAttribute("data-log",log?"1":"0");
  var cross=el("line",{y1:M.t,y2:H-M.b,stroke:"#94a3b8","stroke-dasharray":"3,3",visibility:"hidden"},svg);
  var dots=opts.series.map(function(s){return el("circle",{r:3.2,fill:s.color,stroke:"#fff","stroke-width":1.2,visibility:"hidden"},svg);});
  var xs0=opts.series[0].xs;
  var xAt=function(ev){var r=svg.getBoundingClientRect();return xlo+((ev.clientX-r.left)*W/r.width-M.l)/(W-M.l-M.r)*(xhi-xlo);};
  var setView=function(lo,hi){if(hi-lo>=fx1-fx0){opts.view.lo=undefined;}else{
   if(lo<fx0){hi+=fx0-lo;lo=fx0;}if(hi>fx1){lo-=hi-fx1;hi=fx1;}opts.view.lo=lo;opts.view.hi=hi;}opts.onView();};
  if(opts.zoom&&opts.view){
   svg.onwheel=function(ev){ev.preventDefault();var xv=xAt(ev),f=ev.deltaY<0?0.8:1.25;
    setView(xv-(xv-xlo)*f,xv+(xhi-xv)*f);};
   svg.onmousedown=function(ev){drag={x:xAt(ev)};ev.preventDefault();};
   svg.ondblclick=function(){opts.view.lo=undefined;opts.onView();};
  }
  svg.onmousemove=function(ev){
   if(drag){var dx=xAt(ev)-drag.x;setView(xlo-dx,xhi-dx);return;}
   var r=svg.getBoundingClientRect(),xv=xAt(ev),i=nearest(xs0,xv);if(i<0)return;
   var x=X(xs0[i]);cross.setAttribute("x1",x);cross.setAttribute("x2",x);cross.setAttribute("visibility","visible");
   var html="<b>"+fmtDate(xs0[i],true)+"</b>";
   if(candles&&candles.xs===xs0&&candles.h[i]!==null)html+="<br>O "+opts.tipFmt(candles.o[i])+" H "+
    opts.tipFmt(candles.h[i])+" L "+opts.tipFmt(candles.l[i])+" C "+opts.tipFmt(candles.c[i]);
   opts.series.forEach(function(s,k){var j=s.xs===xs0?i:nearest(s.xs,xs0[i]),y=j<0?null:s.ys[j];
    if(y===null||y===undefined||ty(y)===null){dots[k].setAttribute("visibility","hidden");return;}
    dots[k].setAttribute("cx",x);dots[k].setAttribute("cy",Y(y));dots[k].setAttribute("visibility","visible");
    html+="<br><span style=\"color:"+s.color+"\">&#9679;</span> "+esc(s.name)+": "+opts.tipFmt(y);});
   tip.innerHTML=html;tip.style.display="block";
   var left=x*r.width/W+12;if(left>r.width-220)left=x*r.width/W-220;tip.style.left=left+"px";tip.style.top="8px";};
  svg.onmouseleave=function(){drag=null;tip.style.display="none";cross.setAttribute("visibility","hidden");
   dots.forEach(function(d){d.setAttribute("visibility","hidden");});};
 };
 draw();
 return draw;
}

// A histogram of `values`: about sqrt(n) bins (8 to 40). opts: {height, color, xFmt}
function histogram(host,values,opts){
 var svg=host.querySelector("svg"),tip=host.querySelector(".tip");
 var vals=values.filter(function(v){return v!==null&&isFinite(v);});
 var draw=function(){
  while(svg.firstChild)svg.removeChild(svg.firstChild);
  var W=Math.max(320,host.clientWidth||960),H=opts.height||220,M={l:48,r:16,t:10,b:28};
  svg.setAttribute("viewBox","0 0 "+W+" "+H);svg.setAttribute("height",H);
  if(!vals.length){svg.setAttribute("data-bars",0);return;}
  var lo=Math.min.apply(null,vals),hi=Math.max.apply(null,vals);if(hi===lo){lo-=0.5;hi+=0.5;}
  var n=Math.max(8,Math.min(40,Math.ceil(Math.sqrt(vals.length)))),w=(hi-lo)/n,counts=[];
  for(var i=0;i<n;i++)counts.push(0);
  vals.forEach(function(v){counts[Math.min(n-1,Math.floor((v-lo)/w))]++;});
  var top=Math.max.apply(null,counts);
  var X=function(x){return M.l+(x-lo)/(hi-lo)*(W-M.l-M.r);},Y=function(c){return M.t+(1-c/top)*(H-M.t-M.b);};
  var ax=el("g",{"class":"axis"},svg),yt=valueTicks(0,top,4),xt=valueTicks(lo,hi,Math.max(3,Math.floor((W-M.l-M.r)/90)));
  yt.ticks.forEach(function(c){if(c>top||c!==Math.round(c))return;var y=Y(c);el("line",{x1:M.l,x2:W-M.r,y1:y,y2:y},ax);
   var t=el("text",{x:M.l-8,y:y+3.5,"text-anchor":"end"},ax);t.textContent=fmtNum(c,0);});
  xt.ticks.forEach(function(x){if(x<lo||x>hi)return;var t=el("text",{x:X(x),y:H-M.b+16,"text-anchor":"middle"},ax);
   t.textContent=opts.xFmt(x,xt.step);});
  var bars=0;
  counts.forEach(function(c,k){if(!c)return;bars++;var x0=lo+k*w;
   var r=el("rect",{x:X(x0)+0.5,y:Y(c),width:Math.max(1,X(x0+w)-X(x0)-1),height:H-M.b-Y(c),
    fill:x0+w<=0?"#c2410c":x0>=0?"#15803d":"#94a3b8"},svg);
   r.onmousemove=function(ev){var b=svg.getBoundingClientRect();tip.innerHTML=c+" days from "+opts.xFmt(x0,w/10)+
    " to "+opts.xFmt(x0+w,w/10);tip.style.display="block";tip.style.left=Math.min(ev.clientX-b.left+12,b.width-220)+"px";
    tip.style.top="8px";};r.onmouseleave=function(){tip.style.display="none";};});
  el("line",{x1:M.l,x2:W-M.r,y1:H-M.b,y2:H-M.b,stroke:"#cbd2d9"},svg);
  svg.setAttribute("data-bars",bars);svg.setAttribute("data-points",vals.length);
 };
 draw();
 return draw;
}

// Click a column title to sort the rows by it (again to reverse); cells may carry their sort
// value in data-v.
function sortable(table){
 var ths=table.tHead.rows[0].cells,body=table.tBodies[0];
 var key=function(row,k){var c=row.cells[k];if(!c)return"";
  if(c.dataset.v!==undefined)return parseFloat(c.dataset.v);
  var t=c.textContent;return /^[-+]?\d+(\.\d+)?$/.test(t)?parseFloat(t):t;};
 Array.prototype.forEach.call(ths,function(th,k){th.style.cursor="pointer";th.title="sort";
  th.onclick=function(){var asc=th.dataset.dir!=="asc";
   Array.prototype.forEach.call(ths,function(o){delete o.dataset.dir;o.textContent=o.textContent.replace(/ [\u25b2\u25bc]$/,"");});
   th.dataset.dir=asc?"asc":"desc";th.textContent+=asc?" \u25b2":" \u25bc";
   var rows=Array.prototype.slice.call(body.rows);if(rows.length<2||rows[0].cells.length<ths.length)return;
   rows.sort(function(a,b){var x=key(a,k),y=key(b,k);
    var c=typeof x==="number"&&typeof y==="number"?x-y:String(x).localeCompare(String(y));return asc?c:-c;});
   rows.forEach(function(r){body.appendChild(r);});};});
}

// Heat map. opts: {xs:[labels], ys:[labels], cells:[[xi,yi,value,rank,count]], xName, yName,
//                 metric, lowerBetter}
function heatMap(host,opts){
 var svg=host.querySelector("svg"),tip=host.querySelector(".tip");
 var draw=function(){
  while(svg.firstChild)svg.removeChild(svg.firstChild);
  var W=Math.max(320,host.clientWidth||960),nx=opts.xs.length,ny=opts.ys.length;
  var M={l:90,r:90,t:10,b:46},cw=(W-M.l-M.r)/Math.max(1,nx),ch=Math.min(44,Math.max(18,cw*0.6)),H=M.t+M.b+ch*ny;
  svg.setAttribute("viewBox","0 0 "+W+" "+H);svg.setAttribute("height",H);
  var lo=Infinity,hi=-Infinity;opts.cells.forEach(function(c){if(c[2]!==null){lo=Math.min(lo,c[2]);hi=Math.max(hi,c[2]);}});
  var div=lo<0&&hi>0,ext=Math.max(Math.abs(lo),Math.abs(hi));
  var good=[21,128,61],bad=[194,65,12],mid=[247,247,247],seq0=[240,249,243],seq1=[21,128,61];
  var mix=function(a,b,t){return"rgb("+a.map(function(v,i){return Math.round(v+(b[i]-v)*t);}).join(",")+")";};
  // Strength in [-1, 1] (diverging around 0) or [0, 1]: how good a value is, for the colour.
  var strength=function(v){if(div){var t=v/ext;return opts.lowerBetter?-t:t;}
   var u=hi>lo?(v-lo)/(hi-lo):1;return opts.lowerBetter?1-u:u;};
  var color=function(v){if(v===null)return"#e5e7eb";var t=strength(v);
   if(div)return t>=0?mix(mid,good,t):mix(mid,bad,-t);return mix(seq0,seq1,t);};
  var ax=el("g",{"class":"axis"},svg),n=0;
  opts.cells.forEach(function(c){var x=M.l+c[0]*cw,y=M.t+(ny-1-c[1])*ch;
   var r=el("rect",{x:x+1,y:y+1,width:Math.max(1,cw-2),height:ch-2,rx:3,fill:color(c[2])},svg);n++;
   if(cw>46){var t=el("text",{x:x+cw/2,y:y+ch/2+4,"text-anchor":"middle","font-size":11,
    fill:c[2]!==null&&Math.abs(strength(c[2]))>0.6?"#fff":"#111827"},svg);t.textContent=c[2]===null?"n/a":fmtNum(c[2],Math.abs(c[2])>=100?0:2);}
   r.onmousemove=function(ev){var b=svg.getBoundingClientRect();
    tip.innerHTML="<b>"+esc(opts.xName)+"="+esc(opts.xs[c[0]])+", "+esc(opts.yName)+"="+esc(opts.ys[c[1]])+"</b><br>"+esc(opts.metric)+": "+
     fmtNum(c[2],4)+"<br>rank "+c[3]+(c[4]>1?" (best of "+c[4]+" runs)":"");
    tip.style.display="block";tip.style.left=Math.min(ev.clientX-b.left+12,b.width-200)+"px";
    tip.style.top=(ev.clientY-b.top+12)+"px";};
   r.onmouseleave=function(){tip.style.display="none";};});
  var step=Math.max(1,Math.ceil(60/cw));
  opts.xs.forEach(function(l,i){if(i%step)return;var t=el("text",{x:M.l+i*cw+cw/2,y:M.t+ny*ch+16,"text-anchor":"middle"},ax);t.textContent=l;});
  var ystep=Math.max(1,Math.ceil(14/ch));
  opts.ys.forEach(function(l,i){if(i%ystep)return;var t=el("text",{x:M.l-8,y:M.t+(ny-1-i)*ch+ch/2+4,"text-anchor":"end"},ax);t.textContent=l;});
  var xl=el("text",{x:M.l+(W-M.l-M.r)/2,y:H-6,"text-anchor":"middle","font-weight":600},ax);xl.textContent=opts.xName;
  var yl=el("text",{x:14,y:M.t+ny*ch/2,"text-anchor":"middle","font-weight":600,transform:"rotate(-90 14 "+(M.t+ny*ch/2)+")"},ax);yl.textContent=opts.yName;
  if(isFinite(lo)){var gid="hm-grad",defs=el("defs",{},svg),g=el("linearGradient",{id:gid,x1:0,y1:1,x2:0,y2:0},defs);
   for(var k=0;k<=10;k++){var v=lo+(hi-lo)*k/10;el("stop",{offset:(k*10)+"%","stop-color":color(v)},g);}
   var lx=W-M.r+24,lh=Math.min(ny*ch,220);el("rect",{x:lx,y:M.t,width:14,height:lh,fill:"url(#"+gid+")",rx:2},svg);
   [[hi,M.t+8],[lo,M.t+lh]].forEach(function(p){var t=el("text",{x:lx+20,y:p[1],"font-size":11},ax);t.textContent=fmtNum(p[0],2);});}
  svg.setAttribute("data-points",n);
 };
 draw();
 return draw;
}

function boot(main){
 window.addEventListener("error",function(e){document.body.dataset.rendered="error: "+e.message;});
 try{var redraws=main();var timer=null;
  window.addEventListener("resize",function(){clearTimeout(timer);timer=setTimeout(function(){
   try{redraws.forEach(function(f){f();});}catch(e){document.body.dataset.rendered="error: "+e.message;}},150);});
  document.body.dataset.rendered="ok";
 }catch(e){document.body.dataset.rendered="error: "+(e&&e.message?e.message:String(e));}
}
)JS";

inline constexpr const char* backtest_js = R"JS(
boot(function(){
 var D=JSON.parse(document.getElementById("report-data").textContent),P=D.points;
 var xs=P.map(function(p){return p[0];}),eq=P.map(function(p){return p[1];});
 var dd=P.map(function(p){return -p[2];});
 var px=P.map(function(p){return p[3]>0?p[3]:null;});
 var col=function(k){return P.map(function(p){return p[k]>0?p[k]:null;});};
 var bh=P.map(function(p){return D.bh_base>0&&p[3]>0?D.initial_equity*p[3]/D.bh_base:null;});
 var cur=D.currency,money=function(v,st){return fmtNum(v,st!==undefined&&st<1?2:0);};
 var redraws=[],timed=[],view={},sync=function(){timed.forEach(function(f){f();});};
 var timeChart=function(id,opts){opts.view=view;opts.onView=sync;opts.zoom=true;
  var f=lineChart(document.getElementById(id),opts);timed.push(f);redraws.push(f);return f;};
 timeChart("equity",{height:320,
  series:[{name:"Strategy",color:"#2563eb",xs:xs,ys:eq,width:1.8},
          {name:"Buy & hold",color:"#9aa3af",xs:xs,ys:bh,width:1.3}],
  band:D.max_dd?[D.max_dd[0],D.max_dd[1]]:null,
  yFmt:money,tipFmt:function(v){return fmtNum(v,2)+" "+cur;}});
 timeChart("drawdown",{height:180,yMax:0,
  series:[{name:"Drawdown",color:"#dc2626",xs:xs,ys:dd,area:true,width:1.2}],
  yFmt:function(v,st){return fmtNum(v,st<1?1:0)+"%";},tipFmt:function(v){return fmtNum(v,2)+" %";}});
 // The strategies' own series: over the price (panel -1) and in their panels under it.
 function plotted(panel){return (D.plots||[]).filter(function(p){return p.panel===panel;}).map(function(p){
  return{name:p.label,color:p.color,width:1.1,xs:p.pts.map(function(q){return q[0];}),ys:p.pts.map(function(q){return q[1];})};});}
 var marks=D.fills.map(function(f){return{x:f[0],y:f[2],kind:f[1]};});
 var box=function(id){return document.getElementById(id);};
 var price=timeChart("price",{height:340,
  series:[{name:D.symbol,color:"#334155",xs:xs,ys:px,width:1.2,candle:true}].concat(plotted(-1)),markers:marks,
  candles:{xs:xs,o:col(4),h:col(5),l:col(6),c:px},
  showCandles:function(){return !box("price-candles")||box("price-candles").checked;},
  log:function(){return box("price-log")&&box("price-log").checked;},
  yFmt:function(v,st){return fmtNum(v,st<1?2:0);},tipFmt:function(v){return fmtNum(v,2);}});
 ["price-candles","price-log"].forEach(function(id){if(box(id))box(id).onchange=price;});
 for(var k=0;box("panel-"+k);k++){var ser=plotted(k);
  if(!ser.some(function(s){return s.ys.some(function(y){return y!==null;});}))continue;
  timeChart("panel-"+k,{height:180,series:ser,xRange:[xs[0],xs[xs.length-1]],
   yFmt:function(v,st){return fmtNum(v,st<1?2:0);},tipFmt:function(v){return fmtNum(v,4);}});}
 // Daily returns: a 30-day rolling Sharpe ratio (annualised with sqrt(365)) and their histogram.
 var days=D.daily||[],dx=days.map(function(d){return d[0];}),rs=[],win=30;
 for(var i=0;i<days.length;i++){if(i+1<win){rs.push(null);continue;}var s=0,q=0,ok=true;
  for(var j=i+1-win;j<=i;j++){var r=days[j][1];if(r===null){ok=false;break;}s+=r/100;q+=r*r/1e4;}
  var m=s/win,sd=Math.sqrt(Math.max(0,(q-win*m*m)/(win-1)));rs.push(ok&&sd>0?m/sd*Math.sqrt(365):null);}
 if(rs.some(function(v){return v!==null;}))
  redraws.push(lineChart(box("rolling-sharpe"),{height:200,
   series:[{name:"Sharpe (30 d)",color:"#7c3aed",xs:dx,ys:rs,width:1.4}],
   yFmt:function(v,st){return fmtNum(v,st<1?1:0);},tipFmt:function(v){return fmtNum(v,2);}}));
 else box("rolling-sharpe").insertAdjacentHTML("beforeend","<p class=\"note\">Fewer than 30 days: no rolling value.</p>");
 redraws.push(histogram(box("returns-hist"),days.map(function(d){return d[1];}),{height:220,
  xFmt:function(v,st){return fmtNum(v,st<0.1?2:st<1?1:0)+"%";}}));
 Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),sortable);
 return redraws;
});
)JS";

inline constexpr const char* sweep_js = R"JS(
boot(function(){
 var D=JSON.parse(document.getElementById("sweep-data").textContent),out=[];
 var host=document.getElementById("heatmap");
 if(D.heat&&host)out.push(heatMap(host,D.heat));
 var col=function(p,k){return p.map(function(q){return q[k];});};
 (D.folds||[]).forEach(function(f){var h=document.getElementById(f.id);if(!h)return;
  out.push(lineChart(h,{height:200,
   series:[{name:"In sample",color:"#2563eb",xs:col(f.is,0),ys:col(f.is,1),width:1.5},
           {name:"Out of sample",color:"#ea580c",xs:col(f.oos,0),ys:col(f.oos,1),width:1.5}],
   yFmt:function(v,st){return fmtNum(v,st<1?1:0)+"%";},tipFmt:function(v){return fmtNum(v,2)+" %";}}));});
 return out;
});
)JS";

}  // namespace cats::html_assets
