// Small helpers for photos the person hands over and files the page hands back: a thumbnail of a
// photo, a CSV document, and a download.

/** The shorter side of a thumbnail, in pixels (the grids show them at this size). */
export const THUMB_SIDE = 160;

/** A small JPEG of the photo (its object URL), or null where the browser cannot draw it (HEIC). */
export async function thumbnail(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = THUMB_SIDE / Math.min(bitmap.width, bitmap.height);
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.8));
    return blob ? URL.createObjectURL(blob) : null;
  } catch {
    return null;
  }
}

/** One CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(value) {
  const text = value == null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** `rows` (objects) as a CSV document with `columns` as its header, one line per row. */
export function toCsv(columns, rows) {
  return [columns, ...rows.map((r) => columns.map((c) => r[c]))]
    .map((fields) => fields.map(csvField).join(','))
    .join('\r\n') + '\r\n';
}

/** Hands `text` to the browser as a file download named `name`. */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
