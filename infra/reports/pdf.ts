import { access, constants } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';
import { TickLakeError } from '../../core/errors.ts';

/**
 * HTML -> PDF with the system's Chromium (Debian's `chromium`), driven by playwright-core through `executablePath`:
 * nothing is downloaded. playwright-core is pinned (1.64.1) because each release speaks to one Chromium build.
 * The page gets JavaScript off and every request refused: the report is self-contained, so a request could only
 * be something injected.
 */
export class PdfPrinter {
  private browser: Promise<Browser> | null = null;

  constructor(private readonly executablePath: string) {}

  private async launch(): Promise<Browser> {
    try {
      await access(this.executablePath, constants.X_OK);
    } catch {
      throw new TickLakeError(
        'PREREQUISITE_MISSING',
        `no Chromium at ${this.executablePath}: install Debian's chromium (apt-get install chromium), set ` +
          'reports.chromiumPath (TICKLAKE_REPORTS_CHROMIUM_PATH), or turn PDFs off (reports.pdf=false, --no-pdf)',
      );
    }
    // playwright starts Chromium without its sandbox by default (chromiumSandbox: false), which running as root in a
    // container needs; the page runs no script and loads nothing, so the sandbox would guard nothing here.
    return chromium.launch({ executablePath: this.executablePath, headless: true });
  }

  async print(html: string): Promise<Uint8Array> {
    this.browser ??= this.launch().catch((err: unknown) => {
      this.browser = null;
      throw err;
    });
    const browser = await this.browser;
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    try {
      const page = await context.newPage();
      await page.route('**/*', (route) => route.abort());
      await page.setContent(html, { waitUntil: 'load' });
      const pdf = await page.pdf({
        format: 'A4',
        printBackground: true,
        margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' },
      });
      return new Uint8Array(pdf);
    } finally {
      await context.close();
    }
  }

  async close(): Promise<void> {
    const b = this.browser;
    this.browser = null;
    if (b) await (await b.catch(() => null))?.close();
  }
}

/** Pages of a PDF as Chromium writes it (one `/Type /Page` object per page). */
export function pdfPageCount(pdf: Uint8Array): number {
  return (Buffer.from(pdf).toString('latin1').match(/\/Type\s*\/Page(?!s)/g) ?? []).length;
}
