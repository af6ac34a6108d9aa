// Every way a photo reaches the page: file picker, phone camera input, drag and drop, paste, samples.

/** The photos among the files: those typed as images, else (some apps give an empty type) all. */
function photos(fileList) {
  const files = [...(fileList || [])];
  const images = files.filter((f) => f.type.startsWith('image/'));
  return images.length ? images : files;
}

export function setupInputs({ onPhoto, onPhotos, onFolder, onModel, onError }) {
  // One photo gets the full answer; several get the grid.
  const take = (files) => (files.length > 1 ? onPhotos(files) : onPhoto(files[0]));
  for (const id of ['file-input', 'capture-input']) {
    const input = document.getElementById(id);
    input.addEventListener('change', () => {
      const files = photos(input.files);
      if (files.length) take(files);
      input.value = ''; // The same file picked again should classify again.
    });
  }

  const zone = document.getElementById('drop-zone');
  let depth = 0;
  document.addEventListener('dragenter', (e) => { e.preventDefault(); depth++; zone.classList.add('dragging'); });
  document.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; zone.classList.remove('dragging'); } });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    // A dropped folder is evaluated; its entries exist only while the event lasts.
    const folders = [...(e.dataTransfer?.items || [])].map((item) => item.webkitGetAsEntry?.())
      .filter((entry) => entry?.isDirectory);
    if (folders.length) {
      onFolder(folders);
      return;
    }
    // An ONNX file (with its model.json, perhaps) is the person's own model, not a photo.
    const dropped = [...(e.dataTransfer?.files || [])];
    if (dropped.some((f) => /\.onnx$/i.test(f.name))) {
      onModel(dropped);
      return;
    }
    const files = photos(dropped);
    if (files.length) take(files);
    else onError('That was not a file. Drop a photo from your computer.');
  });

  document.addEventListener('paste', (e) => {
    const [file] = photos(e.clipboardData?.files);
    if (!file) return; // Ordinary text paste: not ours.
    e.preventDefault();
    onPhoto(file);
  });

  // The sample buttons are in the page's markup (their space is there from the first paint).
  for (const button of document.querySelectorAll('#samples button[data-sample]')) {
    const file = button.dataset.sample;
    const name = button.textContent.trim();
    button.addEventListener('click', async () => {
      try {
        const response = await fetch(`samples/${file}`);
        if (!response.ok) throw new Error(response.statusText);
        onPhoto(new File([await response.blob()], file, { type: 'image/jpeg' }));
      } catch {
        onError(`The sample photo "${name}" could not be loaded.`);
      }
    });
  }
}
