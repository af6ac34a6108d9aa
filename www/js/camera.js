// Live camera snapshot with getUserMedia, where the browser offers it.

export function setupCamera({ button, panel, video, snap, close, onPhoto, onError }) {
  // Shown from the first paint (nothing moves when this runs), hidden where there is no camera API.
  if (!navigator.mediaDevices?.getUserMedia) {
    button.hidden = true;
    return;
  }
  let stream = null;

  const stop = () => {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    panel.hidden = true;
    button.focus();
  };

  button.addEventListener('click', async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      video.srcObject = stream;
      panel.hidden = false;
      await video.play();
      snap.focus();
    } catch (error) {
      onError(error?.name === 'NotAllowedError'
        ? 'The camera was not allowed. You can still choose or drop a photo.'
        : 'No camera could be opened on this device.');
      stop();
    }
  });

  snap.addEventListener('click', () => {
    if (!video.videoWidth) return;
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    canvas.toBlob((blob) => {
      stop();
      if (blob) onPhoto(new File([blob], 'camera.jpg', { type: 'image/jpeg' }));
    }, 'image/jpeg', 0.92);
  });
  close.addEventListener('click', stop);
  panel.addEventListener('keydown', (event) => { if (event.key === 'Escape') stop(); });
}
