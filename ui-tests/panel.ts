// Opening the Vigilo panel as a user does (shared by the UI tests).
import { expect, type IJupyterLabPageFixture } from '@jupyterlab/galata';

export const PANEL = '#vigilo-panel';

/** Click the panel's left-sidebar tab, unless the panel shows already. */
export async function openPanelFromSidebar(page: IJupyterLabPageFixture): Promise<void> {
  const tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="vigilo-panel"]');
  await expect(tab).toBeVisible();
  if (!(await page.locator(PANEL).isVisible())) {
    await tab.click();
  }
  await expect(page.locator(PANEL)).toBeVisible();
}
