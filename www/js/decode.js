// Browser-side decoding: the browser's own decoder (EXIF orientation applied) and a high-quality
// downscale so the shorter side is exactly the model's size; wasm then only crops and normalises.

/** Width and height from a PNG or JPEG header, or null; lets us refuse pixel bombs before decoding. */
export function sniffDimensions(bytes) {
  const b = bytes;
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) { i++; continue; }
      const marker = b[i + 1];
      if (marker === 0xff) { i++; continue; }
      const length = (b[i + 2] << 8) | b[i + 3];
      // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: (b[i + 5] << 8) | b[i + 6], width: (b[i + 7] << 8) | b[i + 8] };
      }
      i += 2 + length;
    }
  }
  return null;
}

/** Size that makes the shorter side `shorter`; photos already smaller are left alone, as wasm would upscale them itself. */
export function targetSize(width, height, shorter) {
  const side = Math.min(width, height);
  if (side <= shorter) return { width, height };
  const scale = shorter / side;
  return {
    width: Math.max(shorter, Math.round(width * scale)),
    height: Math.max(shorter, Math.round(height * scale)),
  };
}

/**
 * Decodes `blob` with the browser and returns RGBA pixels with the shorter side at `shorter`.
 * Throws when the browser cannot decode it (the caller falls back to the wasm decoder).
 */
export async function decodeToRgba(blob, shorter) {
  const full = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  try {
    const size = targetSize(full.width, full.height, shorter);
    const small = size.width === full.width && size.height === full.height
      ? full
      : await createImageBitmap(full, { resizeWidth: size.width, resizeHeight: size.height, resizeQuality: 'high' });
    try {
      const canvas = new OffscreenCanvas(size.width, size.height);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(small, 0, 0);
      const { data } = ctx.getImageData(0, 0, size.width, size.height);
      return { rgba: data, width: size.width, height: size.height, originalWidth: full.width, originalHeight: full.height };
    } finally {
      if (small !== full) small.close();
    }
  } finally {
    full.close();
  }
}
