// Every way a photo reaches the page: file picker, phone camera input, drag and drop, paste, samples.

const SAMPLES = [
  ['rice.jpg', 'Rice'],
  ['ramen.jpg', 'Ramen'],
  ['ice-cream.jpg', 'Ice cream'],
  ['tom-yum.jpg', 'Tom yum'],
  ['grilled-salmon.jpg', 'Grilled salmon'],
  ['naan.jpg', 'Naan'],
];

function firstImage(dataTransfer) {
  const files = [...(dataTransfer?.files || [])];
  // Some apps paste an image with an empty type; take any file before giving up.
  return files.find((f) => f.type.startsWith('image/')) || files[0] || null;
}

export function setupInputs({ onPhoto, onError }) {
  for (const id of ['file-input', 'capture-input']) {
    const input = document.getElementById(id);
    input.addEventListener('change', () => {
      const [file] = input.files;
      if (file) onPhoto(file);
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
    const file = firstImage(e.dataTransfer);
    if (file) onPhoto(file);
    else onError('That was not a file. Drop a photo from your computer.');
  });

  document.addEventListener('paste', (e) => {
    const file = firstImage(e.clipboardData);
    if (!file) return; // Ordinary text paste: not ours.
    e.preventDefault();
    onPhoto(file);
  });

  const list = document.getElementById('samples');
  for (const [file, name] of SAMPLES) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.sample = file;
    button.setAttribute('aria-label', `Classify the sample photo: ${name}`);
    const img = document.createElement('img');
    img.src = `samples/${file}`;
    img.alt = '';
    img.loading = 'lazy';
    const label = document.createElement('span');
    label.textContent = name;
    button.append(img, label);
    button.addEventListener('click', async () => {
      try {
        const response = await fetch(`samples/${file}`);
        if (!response.ok) throw new Error(response.statusText);
        onPhoto(new File([await response.blob()], file, { type: 'image/jpeg' }));
      } catch {
        onError(`The sample photo "${name}" could not be loaded.`);
      }
    });
    li.append(button);
    list.append(li);
  }
}
