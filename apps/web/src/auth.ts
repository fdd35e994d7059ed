/**
 * The bearer token, kept in localStorage (`rdlab.token`), and the message that sent the
 * researcher back to the token page (a 401 from the API).
 */

const KEY = 'rdlab.token';

export function getToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  localStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  localStorage.removeItem(KEY);
}

let flash: string | null = null;

/** Leaves a message for the token page (shown once). */
export function setSignInMessage(message: string | null): void {
  flash = message;
}

export function takeSignInMessage(): string | null {
  const message = flash;
  flash = null;
  return message;
}
