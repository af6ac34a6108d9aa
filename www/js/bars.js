// One row of a bar list (the top classes of a photo, the accuracy per class of a folder): a name,
// a track filled to the share, and the share as a percentage.

export const percent = (p) => `${(p * 100).toFixed(1)}%`;

/** The `<li>` for `label` at `share` (0 to 1); a sliver stays visible at 0. */
export function barItem(label, share) {
  const li = document.createElement('li');
  const name = document.createElement('span');
  name.textContent = label;
  const track = document.createElement('span');
  track.className = 'track';
  track.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('span');
  fill.className = 'fill';
  fill.style.width = `${Math.max(0.5, share * 100)}%`;
  track.append(fill);
  const pct = document.createElement('span');
  pct.className = 'pct';
  pct.textContent = percent(share);
  li.append(name, track, pct);
  return li;
}
