"""The prototype's data in this browser's localStorage: find it, and clear it (only on request).

The prototype kept its history under the key `capital-history`; copies or older
versions may sit under other keys. The scan returns every key whose value is the
prototype's shape (a list of entries with `id`, `sourceId` and `action`, or
`{"entries": [...]}`), `capital-history` first and always (even when it is not
valid JSON: the dry run then says what is wrong with it). This app's own keys
are never read.

Each found value carries a fingerprint (53-bit string hash, computed in the
browser). Clearing removes one key, and only while its value still has the
fingerprint of what was imported: a prototype tab that wrote more entries since
keeps them.
"""

from __future__ import annotations

import json

PROTOTYPE_KEY = "capital-history"
# The app's own localStorage keys (session token, time zone): never scanned, never cleared.
OWN_KEYS = ("capital_session", "capital_tz")

_HASH = """
const fingerprint = (text) => {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16) + ':' + text.length;
};
"""

SCAN_SCRIPT = (
    "(() => {"
    + _HASH
    + f"""
  const own = {json.dumps(list(OWN_KEYS))};
  const main = {json.dumps(PROTOTYPE_KEY)};
  const isEntry = (e) => e !== null && typeof e === 'object' && !Array.isArray(e)
    && 'sourceId' in e && 'action' in e && 'id' in e;
  const entriesOf = (value) => {{
    const list = Array.isArray(value) ? value
      : (value && typeof value === 'object' && Array.isArray(value.entries)) ? value.entries : null;
    return list !== null && list.length > 0 && list.every(isEntry) ? list : null;
  }};
  const found = [];
  let storage;
  try {{ storage = window.localStorage; }} catch (e) {{ return []; }}
  for (let i = 0; i < storage.length; i++) {{
    const key = storage.key(i);
    if (key === null || own.includes(key)) continue;
    const text = storage.getItem(key);
    if (text === null) continue;
    let parsed = null;
    try {{ parsed = JSON.parse(text); }} catch (e) {{ parsed = undefined; }}
    const entries = parsed === undefined ? null : entriesOf(parsed);
    if (key !== main && entries === null) continue;
    found.push({{key, text, fingerprint: fingerprint(text),
                entries: entries === null ? -1 : entries.length}});
  }}
  found.sort((a, b) => (b.key === main) - (a.key === main) || a.key.localeCompare(b.key));
  return found;
}})()"""
)


def clear_script(key: str, fingerprint: str) -> str:
    """Remove `key` if it still holds what was imported; says 'removed', 'changed' or 'missing'."""
    return (
        "(() => {"
        + _HASH
        + f"""
  const key = {json.dumps(key)};
  const text = window.localStorage.getItem(key);
  if (text === null) return 'missing';
  if (fingerprint(text) !== {json.dumps(fingerprint)}) return 'changed';
  window.localStorage.removeItem(key);
  return window.localStorage.getItem(key) === null ? 'removed' : 'changed';
}})()"""
    )
