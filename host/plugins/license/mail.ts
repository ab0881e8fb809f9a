import type { DownloadLink } from './download-links.ts';
import type { RegistryTenant } from './registry.ts';

export function installCodeSubject(tenant: RegistryTenant, reissue: boolean): string {
  return reissue ? `Your new Alga appliance install code (${tenant.company})` : `Your Alga appliance (${tenant.company})`;
}

/**
 * The install-code email. Composed in memory for the one attempt that sends it (or the one
 * release that hands it over); never stored. `replacesEarlier`: an earlier attempt may have
 * reached the inbox with a code that no longer works.
 */
export function installCodeMail(input: { tenant: RegistryTenant; code: string; codeExpiresAt: string; link: DownloadLink; reissue: boolean; replacesEarlier: boolean }): { to: string; subject: string; text: string } {
  const { tenant, code, codeExpiresAt, link, reissue } = input;
  return {
    to: tenant.contactEmail,
    subject: installCodeSubject(tenant, reissue),
    text: [
      `Hello ${tenant.contactName},`,
      '',
      reissue ? 'Here is a new install code for your appliance; earlier unused codes no longer work.' : `Thank you for registering ${tenant.company} (${tenant.edition}).`,
      ...(input.replacesEarlier && !reissue ? ['', 'This mail replaces any earlier one about this registration: only the code below works.'] : []),
      '',
      `Download the appliance image (link valid until ${link.expiresAt}):`,
      link.url,
      '',
      `Install code (single use, valid until ${codeExpiresAt}):`,
      code,
      '',
      'Enter the install code on the setup page at first boot, together with the setup token shown on the appliance console.',
    ].join('\n'),
  };
}
