// The API token the interface sends as `Authorization: Bearer`. Kept in sessionStorage (gone when
// the tab closes) unless the user asks to be remembered on this device (localStorage). Without a
// token the server decides: AUTH=local acts as the local administrator, AUTH=required answers 401
// and the interface asks for a token.
const KEY = "registro.token";

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
}

export function storeToken(token: string, remember: boolean): void {
  forgetToken();
  (remember ? localStorage : sessionStorage).setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

export const authorization = (token: string | null): Record<string, string> =>
  token === null ? {} : { authorization: `Bearer ${token}` };
