import { describe, expect, it } from 'vitest';
import { HOSTS_VERSION, resolveOptions, subjects } from '../src/index.js';

describe('resolveOptions', () => {
  it('takes a URL, several, or the client options; the client reconnects without a limit', () => {
    expect(resolveOptions('nats://10.0.0.5:4222').connect).toMatchObject({ servers: ['nats://10.0.0.5:4222'], maxReconnectAttempts: -1, waitOnFirstConnect: true });
    expect(resolveOptions('nats://a:1, nats://b:2').connect.servers).toEqual(['nats://a:1', 'nats://b:2']);
    const r = resolveOptions({ servers: 'nats://u:secret@h:4222', user: 'u', pass: 'p', heartbeat: 200, lostAfter: 600, maxReconnectAttempts: 5 });
    expect(r.connect).toMatchObject({ user: 'u', pass: 'p', maxReconnectAttempts: 5 });
    expect(r.connect).not.toHaveProperty('heartbeat');
    expect([r.heartbeat, r.lostAfter]).toEqual([200, 600]);
    expect(r.where).toBe('nats://h:4222');
    expect(resolveOptions({}).where).toBe('nats://127.0.0.1:4222');
  });

  it('workers connect too with direct: true (the default); direct: false keeps every frame on the path through the Kingpins; they get the option as given, without the timings of mob', () => {
    expect(resolveOptions('nats://h:4222')).toMatchObject({ direct: true, given: 'nats://h:4222' });
    const r = resolveOptions({ servers: ['nats://h:4222'], token: 't', heartbeat: 200, lostAfter: 600, direct: true });
    expect(resolveOptions({ servers: 'nats://h:4222', direct: false }).direct).toBe(false);
    expect(r.direct).toBe(true);
    expect(r.given).toEqual({ servers: ['nats://h:4222'], token: 't' });
    expect(r.connect).not.toHaveProperty('direct');
    expect(() => resolveOptions({ direct: 'yes' as never })).toThrow(/direct must be true or false/);
  });

  it('says what is wrong with a bad option', () => {
    expect(() => resolveOptions(42 as never)).toThrow(/use a server URL/);
    expect(() => resolveOptions({ servers: [] })).toThrow(/servers must be a URL/);
    expect(() => resolveOptions({ heartbeat: 10 })).toThrow(/heartbeat must be a number of ms >= 50/);
    expect(() => resolveOptions({ heartbeat: 1000, lostAfter: 500 })).toThrow(/lostAfter \(500 ms\) must be longer than heartbeat/);
    expect(() => resolveOptions({ credentials: '/nonexistent/x.creds' })).toThrow(/cannot read the credentials file/);
    try {
      resolveOptions({ heartbeat: -1 });
    } catch (err) {
      expect((err as Error).name).toBe('ConfigError');
    }
  });
});

describe('subjects', () => {
  it('live under mob.<app>, a dot in a name kept inside its token', () => {
    expect(subjects('shop')).toMatchObject({ heartbeats: 'mob.shop.hb' });
    expect(subjects('shop').host('b')).toBe('mob.shop.h.b');
    expect(subjects('my.shop').host('web-1.example.com')).toBe('mob.my~shop.h.web-1~example~com');
    expect(subjects('my.shop').worker('web-1.example.com', 4242)).toBe('mob.my~shop.w.web-1~example~com.4242');
    expect(HOSTS_VERSION).toBe(2);
  });
});
