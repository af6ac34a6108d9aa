// Content versions and sizes of the large files by path, written here by the site build
// (`cargo xtask web`): the page asks for `path?v=version`, a URL that names one content, so the
// server lets browsers keep it for a year and a changed file gets a new URL; `bytes` is the file's
// size, which the model's download progress counts to even when the server sends it compressed.
// Empty when the page runs unbuilt: plain URLs.
export const ASSET_VERSIONS = {};
