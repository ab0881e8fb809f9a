import { describe, expect, it } from 'vitest';
import { decodeUtf8 } from '../../host/plugins/setup/dotenv.ts';
import { parseProvisionEnv } from '../../host/plugins/setup/provision-file.ts';
import { isAlgaError } from '../../lib/errors/index.ts';

/** provision.env is read in the documented dotenv subset: every form either parses exactly or is refused with its line. */

const password = (line: string) => parseProvisionEnv(`${line}\n`).password;

function refusal(text: string): string {
  try {
    parseProvisionEnv(text);
  } catch (error) {
    if (isAlgaError(error, 'E_PROVISION_FILE_INVALID')) return error.message;
    throw error;
  }
  throw new Error(`expected a refusal of ${JSON.stringify(text)}`);
}

describe('provision.env values', () => {
  it.each([
    ['ALGA_ADMIN_PASSWORD=plain-passphrase-1', 'plain-passphrase-1'],
    ['ALGA_ADMIN_PASSWORD=  padded passphrase 2  ', 'padded passphrase 2'],
    ['ALGA_ADMIN_PASSWORD = spaced-around-equals', 'spaced-around-equals'],
    ['export ALGA_ADMIN_PASSWORD=exported-passphrase', 'exported-passphrase'],
    ['ALGA_ADMIN_PASSWORD=abc#def-not-a-comment', 'abc#def-not-a-comment'],
    ['ALGA_ADMIN_PASSWORD=has "inner" quotes', 'has "inner" quotes'],
    ['ALGA_ADMIN_PASSWORD=$HOME stays literal', '$HOME stays literal'],
    ["ALGA_ADMIN_PASSWORD='abc #def'", 'abc #def'],
    ["ALGA_ADMIN_PASSWORD='  kept spaces  '", '  kept spaces  '],
    ["ALGA_ADMIN_PASSWORD='back\\slash \"dq\"' # a note", 'back\\slash "dq"'],
    ['ALGA_ADMIN_PASSWORD="abc" # note', 'abc'],
    ['ALGA_ADMIN_PASSWORD="abc #def"', 'abc #def'],
    ['ALGA_ADMIN_PASSWORD="say \\"hi\\" \\\\ ok"', 'say "hi" \\ ok'],
    ['ALGA_ADMIN_PASSWORD="tab\\there"', 'tab\there'],
    ['ALGA_ADMIN_PASSWORD="it\'s fine"', "it's fine"],
    ['ALGA_ADMIN_PASSWORD=ünïcödé pässwörd', 'ünïcödé pässwörd'],
  ])('%s → exactly the intended value', (line, expected) => {
    expect(password(line)).toBe(expected);
  });

  it.each([
    ['ALGA_ADMIN_PASSWORD=abc #def', /Line 1: .*" #".*quote the value/],
    ['ALGA_ADMIN_PASSWORD=abc\t#def', /" #"/],
    ['ALGA_ADMIN_PASSWORD="abc" extra', /text after its closing quote/],
    ["ALGA_ADMIN_PASSWORD='abc'def'", /text after its closing quote/],
    ['ALGA_ADMIN_PASSWORD="unterminated', /double quote that is not closed/],
    ["ALGA_ADMIN_PASSWORD='unterminated", /single quote that is not closed/],
    ['ALGA_ADMIN_PASSWORD="bad \\q escape"', /escape "\\q"/],
    ['ALGA_ADMIN_PASSWORD="ends in backslash\\"', /double quote that is not closed/],
    ['ALGA_ADMIN_PASSWORD=first-passphrase\nALGA_ADMIN_PASSWORD=second-passphrase', /Line 2: ALGA_ADMIN_PASSWORD is given a second time/],
    ['ALGA_ADMIN_PASSWORD', /Line 1: it is not KEY=VALUE/],
    ['ALGA_ADMIN_PASSWROD=typo-in-the-name', /unknown setting ALGA_ADMIN_PASSWROD/],
    ['ALGA_ADMIN_PASSWORD="bell\u0007"', /control character/],
    ['ALGA_ADMIN_USERNAME=admin', /ALGA_ADMIN_PASSWORD is required/],
  ])('%j is refused, naming the line and the fix', (text, reason) => {
    expect(refusal(text)).toMatch(reason);
  });

  it('reads comments, blank lines, CRLF line ends and a byte-order mark around the values', () => {
    const input = parseProvisionEnv('\uFEFF# cloud-init wrote this\r\n\r\nALGA_ADMIN_USERNAME=fleet\r\n  # indented comment\r\nALGA_ADMIN_PASSWORD="a long passphrase 7"\r\nALGA_PROVIDER_KEY=\r\n');
    expect(input).toEqual({ username: 'fleet', password: 'a long passphrase 7', providerKey: undefined, installCode: undefined });
  });

  it('refuses a file that is not UTF-8 instead of turning a byte into U+FFFD', () => {
    const bytes = Buffer.concat([Buffer.from('ALGA_ADMIN_PASSWORD=caf'), Buffer.from([0xe9]), Buffer.from('-latin1\n')]);
    expect(() => decodeUtf8(bytes, 'provision.env')).toThrow(/not UTF-8/);
  });
});
