// The page calls TorchServe's inference API on its own origin (scripts/ui.py passes
// POST /predictions/... on to TorchServe). The key arrives in the URL fragment, which the browser
// never sends anywhere:  http://127.0.0.1:8090/#key=<inference key>
"use strict";

const key = new URLSearchParams(location.hash.slice(1)).get("key");
document.getElementById("connection").textContent = key
  ? "Key in hand: every model below is live." : "No key: open the address `make ui` prints.";

class RefusedError extends Error {}

async function predict(path, body, stream = false) {
  const response = await fetch(`/predictions/${path}`, {
    method: "POST",
    headers: { "Authorization": `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify(stream ? { ...body, stream: true } : body),
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const error = await response.json();
      message = error.field ? `${error.error} (${error.field}: ${error.allowed})` : (error.error || error.message || message);
    } catch (_) { /* not JSON */ }
    throw new RefusedError(message);
  }
  return response;
}

// The form's filled-in fields as a request body: numbers as numbers, empty ones left to the server's defaults.
function fields(form, skip = []) {
  const body = {};
  for (const element of form.elements) {
    if (!element.name || skip.includes(element.name) || element.value === "" || element.type === "file") continue;
    const numeric = element.type === "number" || "number" in element.dataset;
    body[element.name] = numeric ? Number(element.value) : element.value;
  }
  return body;
}

function part(section, role) { return section.querySelector(`[data-role=${role}]`); }

function png(base64) { return `data:image/png;base64,${base64}`; }

// Runs `work` for a section's form, showing a refusal in the section's alert line.
function onSubmit(id, work) {
  const section = document.getElementById(id);
  const form = section.querySelector("form");
  const alert = section.querySelector("[role=alert]");
  const run = async () => {
    alert.textContent = "";
    try { await work(section, form); } catch (error) { alert.textContent = error.message; }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
  return run;
}

onSubmit("bigram", async (section, form) => {
  const answer = await (await predict("bigram", fields(form))).json();
  part(section, "text").textContent = answer.generated_text;
});

const explore = onSubmit("words", async (section, form) => {
  const word = form.elements.word.value;
  const embedded = await (await predict("embed", { word })).json();
  const norm = embedded.vector ? Math.hypot(...embedded.vector).toFixed(3) : null;
  part(section, "norm").textContent = norm
    ? `“${word}”: ${embedded.dim}-d vector, norm ${norm}` : `“${word}” has no vector`;
  const list = part(section, "neighbours");
  list.replaceChildren();
  if (!norm) return;
  const similar = await (await predict("similar", { word, top_k: Number(form.elements.top_k.value) })).json();
  for (const { token, score } of similar.results) {
    const item = document.createElement("li");
    const link = document.createElement("button");
    link.type = "button";
    link.textContent = token;
    link.addEventListener("click", () => { form.elements.word.value = token; explore(); });
    item.append(link, ` ${score.toFixed(3)}`);
    list.append(item);
  }
});

const classify = onSubmit("cifar10", async (section, form) => {
  const file = form.elements.image.files[0];
  if (!file) return;
  const dataUrl = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  const picture = part(section, "picture");
  picture.src = dataUrl;
  picture.hidden = false;
  const version = form.elements.version.value;
  const body = { image: dataUrl.slice(dataUrl.indexOf(",") + 1), top_k: Number(form.elements.top_k.value) };
  const answer = await (await predict(version ? `cifar10/${version}` : "cifar10", body)).json();
  part(section, "bars").replaceChildren(...answer.top_k.map(({ label, prob }) => {
    const row = document.createElement("div");
    row.innerHTML = `<span class="label"></span><span class="bar"></span><span class="prob"></span>`;
    row.querySelector(".label").textContent = label;
    row.querySelector(".bar").style.width = `${(prob * 20).toFixed(2)}rem`;
    row.querySelector(".prob").textContent = `${(prob * 100).toFixed(1)}%`;
    return row;
  }));
});
{
  const form = document.querySelector("#cifar10 form");
  const drop = document.querySelector("#cifar10 [data-role=drop]");
  form.elements.image.addEventListener("change", classify);
  form.elements.version.addEventListener("change", classify);
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    form.elements.image.files = event.dataTransfer.files;
    classify();
  });
}

onSubmit("gan", async (section, form) => {
  const answer = await (await predict("gan", fields(form))).json();
  const image = part(section, "result");
  image.src = png(answer.image_base64_png);
  image.hidden = false;
});

// The samplers stream newline-delimited JSON: progress, 8 previews, then the result.
for (const section of document.querySelectorAll("section.sampler")) {
  onSubmit(section.id, async (_, form) => {
    const version = form.elements.version ? form.elements.version.value : "";
    const progress = section.querySelector("progress");
    const status = part(section, "status");
    const previews = part(section, "previews");
    const result = part(section, "result");
    const download = part(section, "download");
    progress.value = 0;
    previews.replaceChildren();
    result.hidden = download.hidden = true;
    status.textContent = "starting";
    const response = await predict(version ? `${section.id}/${version}` : section.id, fields(form, ["version"]), true);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (message.type === "progress" || message.type === "preview") {
          progress.max = message.steps;
          progress.value = message.step;
          status.textContent = `step ${message.step} of ${message.steps}`;
        }
        if (message.type === "preview") {
          const image = document.createElement("img");
          image.src = png(message.image_base64_png);
          image.alt = `step ${message.step}`;
          previews.append(image);
        } else if (message.type === "result") {
          result.src = download.href = png(message.image_base64_png);
          result.hidden = download.hidden = false;
          status.textContent = `done: ${message.num_samples} samples, seed ${message.seed}`;
        } else if (message.type === "error") {
          throw new RefusedError(message.error);
        }
      }
    }
  });
}
