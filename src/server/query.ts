/** @module The query string of a request URL, parsed one way for every route and upgrade handler. */

/** The query parameters of a request URL (`req.url` / `req.raw.url`), empty when it has none. */
export function queryOf(url: string | undefined): URLSearchParams {
  const q = url?.indexOf('?') ?? -1;
  return new URLSearchParams(q >= 0 ? (url as string).slice(q + 1) : '');
}

/** LXD's `recursion` parameter: a value other than empty or `0` asks for full objects instead of URLs. */
export function wantsRecursion(url: string | undefined): boolean {
  const r = queryOf(url).get('recursion');
  return r !== null && r !== '' && r !== '0';
}
