/**
 * The embedded runner's page at `/`: pick an image, watch its three sizes appear. Plain HTML and a
 * few lines of script over `@imgpipe/client` — the same client apps use, bundled for the browser
 * and served at `/client.js` (built in memory on the first request: no build step, no CDN, nothing
 * generated in the checkout) — plus `GET /local/info` (./info.ts) for the server's limits and the
 * queues' backlog.
 *
 * What it shows: the limits; the backlog when there is one; one status line that always says the
 * same as the last log line; the PUT's byte progress (the client's `onProgress`, XMLHttpRequest in a
 * browser); the three sizes side by side at their true proportions to each other, each with its
 * dimensions and bytes and a link to the full size, updated from the status events, each painted with
 * the image's placeholder (ThumbHash over its dominant colour, from the status JSON's `placeholder`)
 * until its rendition has loaded; errors in red
 * with the server's code and message. The script is a plain string (no template literals: this
 * file is one).
 */
export { buildClientScript, makeClientScriptRoute } from "./clientScript.js"

export const indexHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imgpipe</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222 }
  h1 { font-size: 1.4rem; margin-bottom: .3rem } code { background: #f3f3f3; padding: 0 .25rem }
  .muted { color: #555 } [hidden] { display: none !important }
  .note { border-radius: 4px; padding: .4rem .7rem; margin: .6rem 0 }
  .backlog { background: #fff6db; border: 1px solid #e8c66b }
  form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 1rem 0 .5rem }
  button { font: inherit; padding: .3rem 1rem } button:disabled { opacity: .5; cursor: progress }
  #progress { display: flex; gap: .6rem; align-items: center; font-variant-numeric: tabular-nums }
  #progress progress { flex: 1; max-width: 24rem; height: 1rem }
  #status { margin: .5rem 0; padding: .4rem .7rem; border-radius: 4px; background: #f3f6fa; border: 1px solid #d0d7de; min-height: 1.5em }
  #status:empty { display: none }
  #status.error { background: #fdecee; border-color: #e5a0a8; color: #b00020; font-weight: 600 }
  #status.done { background: #eaf6ec; border-color: #9fd0a9; color: #1a5d2b }
  .sizes { display: flex; gap: 1rem; align-items: flex-start; margin-top: 1rem }
  figure { margin: 0; min-width: 0 }
  figure a, figure .pending { display: block; border: 1px solid #ccc; background: #fafafa }
  figure .pending { border-style: dashed }
  figure img { display: block; width: 100%; height: auto }
  figcaption { font-size: .8rem; color: #444; margin-top: .25rem; overflow-wrap: anywhere; font-variant-numeric: tabular-nums }
  #log { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .8rem; background: #fafafa; padding: .5rem; margin-top: 1rem }
  #log:empty { display: none }
  #log .error { color: #b00020 }
</style>
</head>
<body>
<h1>imgpipe — upload an image, watch its sizes appear</h1>
<p id="limits" class="muted">JPEG, PNG, WebP, GIF, AVIF or TIFF. API docs: <a href="/docs">/docs</a>.</p>
<p id="backlog" class="note backlog" hidden></p>
<form id="form">
  <input type="file" id="file" accept="image/jpeg,image/png,image/webp,image/gif,image/avif,image/tiff" required>
  <input type="password" id="key" placeholder="API key" autocomplete="off" hidden>
  <button id="go" type="submit">Upload</button>
</form>
<div id="progress" hidden><progress id="bar" max="1" value="0"></progress><span id="bytes"></span></div>
<div id="status" role="status" aria-live="polite"></div>
<div class="sizes" id="sizes" hidden></div>
<div id="log"></div>
<script src="/client.js"></script>
<script>
"use strict"
var $ = function (id) { return document.getElementById(id) }
var FORMAT_NAMES = { jpeg: "JPEG", png: "PNG", webp: "WebP", gif: "GIF", avif: "AVIF", tiff: "TIFF" }
var info = null
var started = 0

function fmtBytes(n) {
  var trim = function (text) { return text.replace(/\\.0+$/, "") }
  if (n < 1024) return n + " B"
  if (n < 1048576) return trim((n / 1024).toFixed(1)) + " KiB"
  return trim((n / 1048576).toFixed(n < 10485760 ? 2 : 1)) + " MiB"
}
function fmtCount(n) { return Number(n).toLocaleString("en") }
function elapsed() { return ((Date.now() - started) / 1000).toFixed(1) + " s" }
function list(names) { return names.length < 2 ? names.join("") : names.slice(0, -1).join(", ") + " or " + names[names.length - 1] }

/** The status line and the log always say the same thing: every step goes to both. */
function step(text, kind) {
  $("status").className = kind || ""
  $("status").textContent = text
  var line = document.createElement("div")
  line.textContent = (started ? "[" + elapsed() + "] " : "") + text
  if (kind === "error") line.className = "error"
  $("log").appendChild(line)
}

/** A refusal: the server's { error, message }, or a code of the page's own. */
function PageError(code, message) { this.code = code; this.message = message }
async function answer(res) {
  var body = null
  try { body = await res.json() } catch (e) { body = null }
  if (!res.ok) {
    if (body && body.error) throw new PageError(body.error, body.message || res.statusText)
    throw new PageError("http_" + res.status, res.statusText || "the server answered " + res.status)
  }
  return body
}
async function loadInfo() {
  try {
    info = await answer(await fetch("/local/info", { cache: "no-store" }))
  } catch (e) { info = null; return }
  var l = info.limits
  $("limits").innerHTML = ""
  $("limits").append(list(l.formats.map(function (f) { return FORMAT_NAMES[f] || f })) + ", up to " + fmtBytes(l.max_upload_bytes) +
    " and " + fmtCount(Math.round(l.max_pixels / 1e5) / 10) + " megapixels per image. API docs: ")
  var docs = document.createElement("a"); docs.href = "/docs"; docs.textContent = "/docs"; $("limits").append(docs, ".")
  $("file").accept = l.accepted_types.join(",")
  $("key").hidden = !info.api_key_required
  var b = info.backlog
  $("backlog").hidden = b.queued === 0
  $("backlog").textContent = fmtCount(b.queued) + (b.queued === 1 ? " job" : " jobs") + " queued: your image may take a while." +
    (b.dead > 0 ? " (" + fmtCount(b.dead) + " dead-lettered.)" : "")
}

/** Where a size lands: fits inside its box, aspect kept, never enlarged. */
function expected(box, original) {
  if (!original || !original.width || !original.height) return box
  var s = Math.min(1, box.width / original.width, box.height / original.height)
  return { width: Math.max(1, Math.round(original.width * s)), height: Math.max(1, Math.round(original.height * s)) }
}

/**
 * The placeholder's paint, a CSS background: the ThumbHash as a PNG data URL (the client bundle's
 * thumbHashToDataURL), stretched to the box, over the dominant colour; "" while the status has none
 * (it comes with the small size) or when it cannot be read.
 */
var paint = { hash: "", css: "" }
function placeholderPaint(status) {
  var p = status && status.placeholder
  if (!p || typeof p.thumbhash !== "string" || p.thumbhash === "") return ""
  if (paint.hash !== p.thumbhash) {
    var url = ""
    try {
      var raw = atob(p.thumbhash), bytes = new Uint8Array(raw.length)
      for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i)
      url = imgpipe.thumbHashToDataURL(bytes)
    } catch (e) { url = "" }
    var color = typeof p.dominant_color === "string" && /^#[0-9a-f]{6}$/i.test(p.dominant_color) ? p.dominant_color : ""
    paint = { hash: p.thumbhash, css: [color, url ? 'url("' + url + '") center / 100% 100% no-repeat' : ""].join(" ").trim() }
  }
  return paint.css
}

/**
 * One figure per size, each as wide as its pixels relative to the others (flex-grow = width). A size
 * not made yet, and a made one until its image has loaded, shows the placeholder at the size's true
 * proportions.
 */
function drawSizes(imageId, status) {
  var sizes = info ? info.sizes : [{ size: "small", box: { width: 320, height: 320 } }, { size: "medium", box: { width: 1024, height: 1024 } }, { size: "large", box: { width: 2048, height: 2048 } }]
  var root = $("sizes")
  root.hidden = false
  root.textContent = ""
  var background = placeholderPaint(status)
  sizes.forEach(function (s) {
    var r = status && status.renditions[s.size]
    var ready = r && r.status === "ready"
    var dim = ready ? { width: r.width, height: r.height } : expected(s.box, status && status.original)
    var fig = document.createElement("figure")
    fig.style.flex = dim.width + " 1 0"
    var cap = document.createElement("figcaption")
    if (ready) {
      var a = document.createElement("a")
      a.href = "/get_image?image_id=" + encodeURIComponent(imageId) + "&image_size=" + s.size
      a.target = "_blank"; a.title = "open the " + s.size + " size at full size"
      var img = document.createElement("img")
      img.src = a.href; img.alt = s.size + " rendition"; img.width = r.width; img.height = r.height
      if (background) {
        a.style.background = background
        img.onload = function () { a.style.background = "" } // transparent pixels show the page, not the placeholder
        if (img.complete) a.style.background = ""
      }
      a.appendChild(img); fig.appendChild(a)
      cap.textContent = s.size + " · " + r.width + "×" + r.height + " · " + fmtBytes(r.bytes)
    } else {
      var box = document.createElement("div")
      box.className = "pending"; box.style.aspectRatio = dim.width + " / " + dim.height
      if (background) box.style.background = background
      fig.appendChild(box)
      cap.textContent = s.size + " · " + (r && r.status === "failed" ? "failed" : "pending") + " (≈ " + dim.width + "×" + dim.height + ")"
    }
    fig.appendChild(cap)
    root.appendChild(fig)
  })
}

/** Follows the image through the client (status events, polling when there are none) until it is done. */
async function watch(client, imageId) {
  var shown = {}
  var lastStatus = ""
  var placeholderShown = false
  function seen(status) {
    var changed = false
    var p = status.placeholder
    if (p && !placeholderShown && placeholderPaint(status)) {
      placeholderShown = changed = true
      step("placeholder: " + p.dominant_color + " and a ThumbHash of " + p.width + "×" + p.height + " px, painted until each size loads")
    }
    Object.keys(status.renditions).forEach(function (size) {
      var r = status.renditions[size]
      if (r.status !== "pending" && !shown[size]) {
        shown[size] = true; changed = true
        if (r.status === "ready") step(size + " ready: " + r.width + "×" + r.height + " " + r.content_type + ", " + fmtBytes(r.bytes) + " (" + Object.keys(shown).length + " of 3)")
      }
    })
    if (changed || status.status !== lastStatus) drawSizes(imageId, status)
    if (status.status !== lastStatus && status.status === "processing" && Object.keys(shown).length === 0) step("processing: the three sizes are queued")
    lastStatus = status.status
  }
  try {
    var ready = await client.waitUntilReady(imageId, { onStatus: seen, timeoutMs: 600000 })
    seen(ready)
    step("ready: all three sizes in " + elapsed() + " — click one to open it at full size", "done")
  } catch (e) {
    if (e && e.image) seen(e.image)
    if (e && e.code === "timeout") {
      return step("still " + lastStatus + " after 10 minutes; the page stops watching. GET /images/" + imageId + " tells when it is done.", "error")
    }
    throw e
  }
}

$("form").onsubmit = async function (event) {
  event.preventDefault()
  var file = $("file").files[0]
  if (!file) return
  $("go").disabled = true; $("file").disabled = true
  $("log").textContent = ""; $("sizes").hidden = true
  started = Date.now()
  try {
    var client = imgpipe.createClient({ baseUrl: location.origin, apiKey: $("key").value || undefined })
    step("uploading " + file.name + " (" + (file.type || "no type") + ", " + fmtBytes(file.size) + ")")
    $("bar").value = 0; $("bytes").textContent = ""; $("progress").hidden = false
    var imageId = await client.upload(file, { onProgress: function (sent, total) {
      $("bar").value = total ? sent / total : 0
      $("bytes").textContent = fmtBytes(sent) + " of " + fmtBytes(total) + " (" + Math.floor(100 * sent / (total || 1)) + " %)"
    } })
    step("image " + imageId + ": uploaded " + fmtBytes(file.size) + " in " + elapsed() + "; waiting for processing to start")
    drawSizes(imageId, null)
    await watch(client, imageId)
  } catch (e) {
    if (!$("sizes").querySelector("img")) $("sizes").hidden = true // nothing to show: no empty boxes
    step(e && e.code ? e.code + ": " + e.message : "network_error: " + (e && e.message ? e.message : String(e)), "error")
  } finally {
    $("go").disabled = false; $("file").disabled = false
    loadInfo()
  }
}
loadInfo()
</script>
</body>
</html>
`
