// The API token, kept in the browser's localStorage between visits.

const KEY = "durastack.token";

export const loadToken = (): string | null => window.localStorage.getItem(KEY);

export const saveToken = (token: string): void => window.localStorage.setItem(KEY, token);

export const forgetToken = (): void => window.localStorage.removeItem(KEY);
