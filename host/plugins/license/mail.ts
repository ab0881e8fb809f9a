import type { DownloadLink } from './download-links.ts';
import type { RegistryTenant } from './registry.ts';

/** The install-code email (what the outbox holds for the operator's mailer). */
export function installCodeMail(tenant: RegistryTenant, code: string, codeExpiresAt: string, link: DownloadLink, reissued: boolean): { to: string; subject: string; text: string } {
  return {
    to: tenant.contactEmail,
    subject: reissued ? `Your new Alga appliance install code (${tenant.company})` : `Your Alga appliance (${tenant.company})`,
    text: [
      `Hello ${tenant.contactName},`,
      '',
      reissued ? 'Here is a new install code for your appliance; earlier unused codes no longer work.' : `Thank you for registering ${tenant.company} (${tenant.edition}).`,
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
