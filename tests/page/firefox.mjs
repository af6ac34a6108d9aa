// Debian's Firefox ESR for the page tests, driven by puppeteer-core over WebDriver BiDi (Playwright
// cannot drive a stock Firefox), behind the small part of Playwright's API the tests use, so each
// test has one body for both browsers. What only Chromium's driver can do is refused by name.
import { readFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const WEBDRIVER = JSON.parse(readFileSync(new URL('../../webdriver.json', import.meta.url), 'utf8'));
const FIREFOX_PATH = process.env.FIREFOX_PATH || WEBDRIVER['moz:firefoxOptions'].binary;

/** Playwright's `page.locator(selector)`: lazy, resolved on each call, first match. */
class Locator {
  constructor(page, selector, nth = null) {
    this.page = page;
    this.selector = selector;
    this.nth = nth;
  }

  first() {
    return new Locator(this.page, this.selector, 0);
  }

  /** The element, waiting for it to exist as Playwright's actions do. */
  async element(timeout = 30_000) {
    await this.page.waitForSelector(this.selector, { timeout });
    const all = await this.page.$$(this.selector);
    return all[this.nth ?? 0];
  }

  async click() {
    await (await this.element()).click();
  }

  async focus() {
    await (await this.element()).focus();
  }

  async setInputFiles(files) {
    await (await this.element()).uploadFile(...[].concat(files));
  }

  async fill(text) {
    const element = await this.element();
    await element.evaluate((el) => { el.value = ''; });
    await element.type(text);
  }

  /** `state` as in Playwright: 'visible' (the default), 'attached' or 'hidden'. */
  async waitFor({ state = 'visible', timeout = 30_000 } = {}) {
    await this.page.waitForSelector(this.selector, {
      timeout, visible: state === 'visible', hidden: state === 'hidden',
    });
  }

  count() {
    return this.page.$$eval(this.selector, (els) => els.length);
  }

  allTextContents() {
    return this.page.$$eval(this.selector, (els) => els.map((el) => el.textContent));
  }

  evaluateAll(fn) {
    return this.page.$$eval(this.selector, fn);
  }

  async property(fn, arg) {
    return (await this.element()).evaluate(fn, arg);
  }

  textContent() {
    return this.property((el) => el.textContent);
  }

  inputValue() {
    return this.property((el) => el.value);
  }

  getAttribute(name) {
    return this.property((el, n) => el.getAttribute(n), name);
  }

  isDisabled() {
    return this.property((el) => el.disabled === true);
  }

  /** Playwright's rule: attached, a non-empty box, and not `visibility: hidden`. */
  async isVisible() {
    const all = await this.page.$$(this.selector);
    const element = all[this.nth ?? 0];
    if (!element) return false;
    return element.evaluate((el) => {
      const rect = el.getBoundingClientRect();
      return rect.width > 0 && rect.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    });
  }
}

/** A puppeteer page with Playwright's names for what the tests call. */
class Page {
  constructor(page) {
    this.raw = page;
    this.keyboard = page.keyboard;
  }

  goto(url, { waitUntil = 'load' } = {}) {
    return this.raw.goto(url, { waitUntil });
  }

  reload() {
    return this.raw.reload();
  }

  evaluate(fn, arg) {
    return this.raw.evaluate(fn, arg);
  }

  waitForFunction(fn, arg, { timeout = 30_000 } = {}) {
    return this.raw.waitForFunction(fn, { timeout, polling: 100 }, arg);
  }

  waitForTimeout(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  locator(selector) {
    return new Locator(this.raw, selector);
  }

  getByTestId(id) {
    return this.locator(`[data-testid="${id}"]`);
  }

  /** Runs the script in the page's own scope; evaluated by the driver, so the page's CSP allows it. */
  addScriptTag({ path }) {
    return this.raw.evaluate(readFileSync(path, 'utf8'));
  }

  screenshot(options) {
    return this.raw.screenshot(options);
  }

  on(event, handler) {
    this.raw.on(event, handler);
  }
}

/** A private browsing session, like a Playwright context; settings apply to each page it opens. */
class Context {
  constructor(context, options) {
    this.raw = context;
    this.options = options;
    this.requestListeners = [];
    this.initScripts = [];
    this.offline = false;
    this.pages = [];
  }

  async newPage() {
    const page = await this.raw.newPage();
    // Playwright's default window unless the test asks for another (a phone's).
    const { viewport = { width: 1280, height: 720 }, deviceScaleFactor, isMobile, hasTouch, userAgent } = this.options;
    await page.setViewport({ ...viewport, deviceScaleFactor, isMobile, hasTouch });
    if (userAgent) await page.setUserAgent(userAgent);
    for (const script of this.initScripts) await page.evaluateOnNewDocument(script);
    if (this.offline) await page.setOfflineMode(true);
    page.on('request', (request) => {
      for (const listener of this.requestListeners) listener({ url: () => request.url() });
    });
    this.pages.push(page);
    return new Page(page);
  }

  on(event, listener) {
    if (event !== 'request') throw new Error(`context.on('${event}') is not available in the Firefox driver`);
    this.requestListeners.push(listener);
  }

  async addInitScript(script) {
    this.initScripts.push(script);
    for (const page of this.pages) await page.evaluateOnNewDocument(script);
  }

  async setOffline(offline) {
    this.offline = offline;
    for (const page of this.pages) await page.setOfflineMode(offline);
  }

  close() {
    return this.raw.close();
  }
}

/**
 * Launches headless Firefox; `newContext` takes Playwright's options. `bypassCSP` is not needed
 * (injected scripts run through the driver) and `serviceWorkers: 'block'` holds anyway, since a
 * new context has no service worker yet when its first page loads.
 */
export async function launchFirefox() {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    // No update checks, telemetry or remote settings (the prefs the wasm tests use too): nothing
    // may leave 127.0.0.1.
    extraPrefsFirefox: WEBDRIVER['moz:firefoxOptions'].prefs,
  });
  return {
    async newContext(options = {}) {
      return new Context(await browser.createBrowserContext(), options);
    },
    close: () => browser.close(),
  };
}
