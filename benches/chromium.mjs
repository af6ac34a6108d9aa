// How the benchmarks start headless Chromium (Debian's, or `CHROMIUM`): nothing in the background
// that would download or compete with the timed runs.
export const launchOptions = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};
