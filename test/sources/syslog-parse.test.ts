/** @module Syslog line parsing: OVS/OVN vlog lines as LXD reads them, RFC 3164 and 5424 as logger sends them, and junk. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OVN_LEVELS, parseOvsLine, parseSyslog, SYSLOG_SEVERITY_LEVELS } from '../../src/sources/syslog/parse.js';

function ok(line: string | Buffer) {
  const r = parseSyslog(line);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(String(line))} to parse, got: ${r.reason}`);
  return r;
}

function bad(line: string | Buffer): string {
  const r = parseSyslog(line);
  if (r.ok) throw new Error(`expected ${JSON.stringify(String(line))} to be refused, got ${JSON.stringify(r)}`);
  return r.reason;
}

describe('OVS/OVN vlog lines', () => {
  it('reads what ovsdb-server sends with --syslog-method=unix (no space after the PRI)', () => {
    const r = ok('<29>ovs|00001|vlog|INFO|opened log file /tmp/cap/log');
    expect(r.type).toBe('ovn');
    expect(r.metadata).toEqual({
      message: 'opened log file /tmp/cap/log',
      level: 'info',
      context: { module: 'vlog', sequence: '00001' },
    });
  });

  it("reads LXD's own test line: a space after the PRI and an application field", () => {
    const r = ok('<29> ovs|ovn-controller|00017|rconn|INFO|unix:/var/run/openvswitch/br-int.mgmt: connected\n');
    expect(r.type).toBe('ovn');
    expect(r.metadata.message).toBe('unix:/var/run/openvswitch/br-int.mgmt: connected');
    expect(r.metadata.context).toEqual({ application: 'ovn-controller', module: 'rconn', sequence: '00017' });
    // keys sorted as Go marshals a map
    expect(Object.keys(r.metadata.context)).toEqual(['application', 'module', 'sequence']);
  });

  it('maps levels as LXD does, case-insensitively, with unknown levels as panic', () => {
    const level = (l: string) => ok(`<29>ovs|00001|m|${l}|x`).metadata.level;
    expect(level('DBG')).toBe('debug');
    expect(level('INFO')).toBe('info');
    expect(level('WARN')).toBe('warning');
    expect(level('ERR')).toBe('error');
    expect(level('EMER')).toBe('error');
    expect(level('emer')).toBe('error');
    expect(level('NOTICE')).toBe('panic');
    expect(level('')).toBe('panic');
    expect(OVN_LEVELS).toEqual({ dbg: 'debug', info: 'info', warn: 'warning', err: 'error', emer: 'error' });
  });

  it('keeps bars inside the message when an application is present', () => {
    const r = ok('<29>ovs|ovn-northd|00003|ovn_northd|INFO|a|b|c');
    expect(r.metadata.message).toBe('a|b|c');
    expect(r.metadata.context.application).toBe('ovn-northd');
  });

  it('keeps a bar inside the message without an application (where LXD would shift the fields)', () => {
    const r = ok('<30>ovs|00042|jsonrpc|DBG|unix#3: send reply, result="a|b", id=0');
    expect(r.metadata).toEqual({
      message: 'unix#3: send reply, result="a|b", id=0',
      level: 'debug',
      context: { module: 'jsonrpc', sequence: '00042' },
    });
  });

  it('keeps thread names in the module as OVS writes them', () => {
    const r = ok('<29>ovs|00001|pinctrl(ovn_pinctrl0)|INFO|unix:/run/br-int.mgmt: connecting to switch');
    expect(r.metadata.context.module).toBe('pinctrl(ovn_pinctrl0)');
  });

  it('takes a line without a PRI when it starts with ovs| (LXD ignores the first field)', () => {
    expect(ok('ovs|00007|reconnect|WARN|lost').metadata.level).toBe('warning');
  });

  it("reads an OVS line inside an RFC 3164 header (OVS's --syslog-method=libc)", () => {
    const r = ok(
      '<29>Nov 21 21:25:54 ovsdb-server[123]: ovs|00002|ovsdb_server|INFO|ovsdb-server (Open vSwitch) 3.1.0',
    );
    expect(r.type).toBe('ovn');
    expect(r.metadata.context).toEqual({ module: 'ovsdb_server', sequence: '00002' });
    expect(r.metadata.message).toBe('ovsdb-server (Open vSwitch) 3.1.0');
  });

  it('reads an OVS line inside an RFC 5424 header', () => {
    const r = ok('<29>1 2026-11-21T21:25:54Z host ovn-controller 77 - - ovs|00001|main|ERR|boom');
    expect(r.type).toBe('ovn');
    expect(r.metadata.level).toBe('error');
  });

  it('refuses truncated OVS lines', () => {
    expect(bad('<29>ovs|00001|vlog|INFO')).toMatch(/fields/);
    expect(bad('<29>ovs|00001')).toMatch(/fields/);
    expect(bad('<29>ovs|')).toMatch(/fields/);
    expect(parseOvsLine('ovs|1|2|3').ok).toBe(false);
  });

  it('allows an empty OVS message, as LXD does', () => {
    expect(ok('<29>ovs|00001|vlog|INFO|').metadata.message).toBe('');
  });
});

describe('RFC 3164 lines (logger --rfc3164, glibc syslog)', () => {
  it('reads timestamp, host and tag', () => {
    const r = ok('<156>Nov 21 21:25:54 vm myapp: hello 3164');
    expect(r.type).toBe('logging');
    expect(r.metadata).toEqual({
      message: 'hello 3164',
      level: 'warning',
      context: { app: 'myapp', facility: 'local3', host: 'vm' },
    });
  });

  it('reads the pid in the tag', () => {
    const r = ok('<11>Nov 21 21:25:54 vm myapp[11398]: with pid');
    expect(r.metadata).toEqual({
      message: 'with pid',
      level: 'error',
      context: { app: 'myapp', facility: 'user', host: 'vm', procid: '11398' },
    });
  });

  it("reads logger's local format, which has no hostname", () => {
    const r = ok('<13>Nov 21 21:25:54 root: default format');
    expect(r.metadata.context).toEqual({ app: 'root', facility: 'user' });
    expect(r.metadata.message).toBe('default format');
  });

  it('reads a space-padded day', () => {
    expect(ok('<13>Nov  1 01:02:03 vm app: x').metadata.context.host).toBe('vm');
  });

  it('reads an RFC 3339 timestamp in a 3164 header (rsyslog forwarding)', () => {
    const r = ok('<13>2026-11-21T21:25:54.123+00:00 vm app[9]: x');
    expect(r.metadata.context).toEqual({ app: 'app', facility: 'user', host: 'vm', procid: '9' });
  });

  it('without a timestamp, takes the content as the message (RFC 3164 §4.3.3), after a tag if any', () => {
    expect(ok('<13>plain words').metadata).toEqual({
      message: 'plain words',
      level: 'info',
      context: { facility: 'user' },
    });
    expect(ok('<14>sshd[77]: Accepted key').metadata.context).toEqual({ app: 'sshd', facility: 'user', procid: '77' });
  });

  it('takes an OVS continuation line (no ovs| header) as a plain logging line', () => {
    const r = ok('<31>                 -------    ------    ------');
    expect(r.type).toBe('logging');
    expect(r.metadata.level).toBe('debug');
    expect(r.metadata.context).toEqual({ facility: 'daemon' });
  });

  it('keeps UTF-8', () => {
    expect(ok(Buffer.from('<13>Nov 21 21:25:54 vm myapp: ünïcode ✓')).metadata.message).toBe('ünïcode ✓');
  });

  it('allows an empty message after a tag but refuses a header with nothing after it', () => {
    expect(ok('<13>Nov 21 21:25:54 vm myapp: ').metadata.message).toBe('');
    expect(bad('<13>Nov 21 21:25:54 vm')).toMatch(/no message/);
    expect(bad('<13>Nov 21 21:25:54')).toMatch(/no message/);
    expect(bad('<13>   ')).toMatch(/no message/);
  });
});

describe('RFC 5424 lines (logger --rfc5424)', () => {
  it('reads every header field', () => {
    const r = ok('<30>1 2026-11-21T21:25:54.740217+00:00 vm myapp - ID47 [timeQuality tzKnown="1" isSynced="0"] hello');
    expect(r.type).toBe('logging');
    expect(r.metadata).toEqual({
      message: 'hello',
      level: 'info',
      context: { app: 'myapp', facility: 'daemon', host: 'vm', msgid: 'ID47' },
    });
    expect(Object.keys(r.metadata.context)).toEqual(['app', 'facility', 'host', 'msgid']);
  });

  it('skips several structured-data elements, with escaped quotes and brackets in values', () => {
    const r = ok('<13>1 2026-11-21T21:25:54Z vm myapp 11400 - [a@1 x="q\\"]"][zoo@123 tiger="hungry"] with sd');
    expect(r.metadata.message).toBe('with sd');
    expect(r.metadata.context).toEqual({ app: 'myapp', facility: 'user', host: 'vm', procid: '11400' });
  });

  it('omits nil fields', () => {
    const r = ok('<13>1 - - myapp - - - notime');
    expect(r.metadata.context).toEqual({ app: 'myapp', facility: 'user' });
    expect(r.metadata.message).toBe('notime');
  });

  it('reads a line without MSG', () => {
    expect(ok('<13>1 - host app - - -').metadata.message).toBe('');
  });

  it('drops the UTF-8 BOM that OVS --syslog-target puts before MSG', () => {
    const r = ok(
      Buffer.concat([
        Buffer.from('<149>1 2026-11-21T21:26:07.727Z vm ovsdb-server 11669 ovsdb_server - '),
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from('ovsdb-server (Open vSwitch) 3.1.0'),
      ]),
    );
    expect(r.metadata).toEqual({
      message: 'ovsdb-server (Open vSwitch) 3.1.0',
      level: 'info',
      context: { app: 'ovsdb-server', facility: 'local2', host: 'vm', msgid: 'ovsdb_server', procid: '11669' },
    });
  });

  it('refuses broken headers', () => {
    expect(bad('<13>1 2026-11-21T21:25:54Z vm')).toMatch(/truncated/);
    expect(bad('<13>1 yesterday vm app - - - x')).toMatch(/timestamp/);
    expect(bad('<13>1 - vm app - - [unterminated x')).toMatch(/structured/);
    expect(bad('<13>1 - vm app - - [a b="c"]x')).toMatch(/structured/);
    expect(bad('<13>1 - vm app - - nosd')).toMatch(/structured/);
    expect(bad('<13>1 -  app - - - x')).toMatch(/header field/);
  });
});

describe('severity and facility', () => {
  it('maps every severity', () => {
    const levels = [0, 1, 2, 3, 4, 5, 6, 7].map((sev) => ok(`<${8 + sev}>x`).metadata.level);
    expect(levels).toEqual(['fatal', 'fatal', 'fatal', 'error', 'warning', 'info', 'info', 'debug']);
    expect(SYSLOG_SEVERITY_LEVELS).toEqual(levels);
  });

  it('names facilities', () => {
    expect(ok('<0>x').metadata.context.facility).toBe('kern');
    expect(ok('<191>x').metadata.context.facility).toBe('local7');
    expect(ok('<80>x').metadata.context.facility).toBe('authpriv');
  });
});

describe('malformed datagrams are refused, never thrown on', () => {
  it('refuses empty, PRI-less and bad-PRI lines', () => {
    expect(bad('')).toMatch(/empty/);
    expect(bad('\n')).toMatch(/empty/);
    expect(bad('\0\0\0')).toMatch(/empty/);
    expect(bad('hello')).toMatch(/no PRI/);
    expect(bad('<13')).toMatch(/PRI/);
    expect(bad('<>x')).toMatch(/PRI/);
    expect(bad('<1234>x')).toMatch(/PRI/);
    expect(bad('<192>x')).toMatch(/over 191/);
    expect(bad('<-1>x')).toMatch(/PRI/);
  });

  it('refuses binary data', () => {
    expect(bad(Buffer.from([0x3c, 0x31, 0x33, 0x3e, 0x00, 0x01, 0x02, 0xff]))).toMatch(/control/);
    expect(bad('<13>ab\x1b[31mred')).toMatch(/control/);
    expect(bad(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x10]))).toMatch(/control/);
  });

  it('trims trailing line ends and NUL padding, not leading space', () => {
    expect(ok('<13>x: y\r\n').metadata.message).toBe('y');
    expect(ok('<13>x: y\0').metadata.message).toBe('y');
  });

  it('reads an oversized line without trouble (the size limit is the intake’s)', () => {
    const r = ok(`<29>ovs|00001|m|INFO|${'x'.repeat(100_000)}`);
    expect(r.metadata.message.length).toBe(100_000);
  });

  it('never throws on arbitrary bytes or strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = parseSyslog(Buffer.from(bytes));
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
    const piece = fc.constantFrom('<13>', '<29>', '1 ', 'ovs|', '|', ' ', '[', ']', '"', '\\', '-', ':', 'Nov 21 ');
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 5 })), { maxLength: 20 }), (parts) => {
        const r = parseSyslog(parts.join(''));
        if (r.ok) {
          expect(['ovn', 'logging']).toContain(r.type);
          for (const v of Object.values(r.metadata.context)) expect(typeof v).toBe('string');
        }
      }),
      { numRuns: 3000 },
    );
  });
});
