/**
 * The embedded runner's page at `/`: pick an image, watch its three sizes appear. Plain HTML and a
 * few lines of script calling the public API exactly as a client would (no build step, no CDN).
 */
export const indexHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imgpipe</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222 }
  h1 { font-size: 1.4rem } code { background: #f3f3f3; padding: 0 .25rem }
  .sizes { display: grid; grid-template-columns: repeat(3, 1fr); gap: 1rem; margin-top: 1rem }
  figure { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; min-height: 8rem }
  figure img { max-width: 100%; display: block } figcaption { font-size: .85rem; color: #555 }
  #log { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .8rem; background: #fafafa; padding: .5rem }
  .error { color: #b00020 }
</style>
</head>
<body>
<h1>imgpipe — upload an image, watch its sizes appear</h1>
<p>JPEG, PNG, WebP, GIF, AVIF or TIFF up to the server's size limit. API docs: <a href="/docs">/docs</a>.</p>
<p>
  <input type="file" id="file" accept="image/jpeg,image/png,image/webp,image/gif,image/avif,image/tiff">
  <input type="password" id="key" placeholder="API key (if the server has keys)" autocomplete="off">
  <button id="go">Upload</button>
</p>
<div id="status"></div>
<div class="sizes">
  <figure><figcaption>small</figcaption><img id="small" alt=""></figure>
  <figure><figcaption>medium</figcaption><img id="medium" alt=""></figure>
  <figure><figcaption>large</figcaption><img id="large" alt=""></figure>
</div>
<div id="log"></div>
<script>
const $ = (id) => document.getElementById(id)
const log = (line) => { $("log").textContent += line + "\\n" }
const headers = () => $("key").value ? { authorization: "Bearer " + $("key").value } : {}
async function json(res) { const body = await res.json().catch(() => ({})); if (!res.ok) throw new Error((body.error || res.status) + ": " + (body.message || res.statusText)); return body }
$("go").onclick = async () => {
  const file = $("file").files[0]
  if (!file) return
  $("log").textContent = ""; $("status").className = ""
  for (const size of ["small", "medium", "large"]) { $(size).removeAttribute("src"); $(size).title = "" }
  try {
    const ticket = await json(await fetch("/upload", { method: "POST", headers: { "content-type": "application/json", ...headers() },
      body: JSON.stringify({ content_type: file.type || "application/octet-stream", content_length: file.size }) }))
    log("image " + ticket.image_id + ": uploading " + file.size + " bytes")
    const put = await fetch(ticket.upload.url, { method: ticket.upload.method, headers: ticket.upload.headers, body: file })
    if (!put.ok) await json(put)
    log("uploaded; processing")
    const started = Date.now()
    const shown = new Set()
    for (;;) {
      const status = await json(await fetch("/images/" + ticket.image_id, { headers: headers() }))
      for (const [size, r] of Object.entries(status.renditions)) {
        if (r.status === "ready" && !shown.has(size)) {
          shown.add(size)
          $(size).src = "/get_image?image_id=" + ticket.image_id + "&image_size=" + size
          $(size).title = r.width + "×" + r.height + ", " + r.bytes + " bytes"
          log(size + ": " + r.width + "×" + r.height + " " + r.content_type + ", " + r.bytes + " bytes after " + (Date.now() - started) + " ms")
        }
      }
      $("status").textContent = "status: " + status.status + (status.error ? " — " + status.error.code + ": " + status.error.message : "")
      if (status.status === "ready" || status.status === "failed") break
      if (Date.now() - started > 120000) throw new Error("gave up waiting after 2 minutes")
      await new Promise((r) => setTimeout(r, 400))
    }
  } catch (e) { $("status").className = "error"; $("status").textContent = String(e.message || e) }
}
</script>
</body>
</html>
`
