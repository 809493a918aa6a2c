// A small client-side router over the History API. The server answers index.html for `/` and every
// path under `/models/`, so each page has a URL that can be bookmarked, shared and reloaded.
import { useEffect, useState } from "react";
import type { AnchorHTMLAttributes, MouseEvent } from "react";

export type Route =
  | { readonly page: "models" }
  | { readonly page: "model"; readonly name: string }
  | { readonly page: "version"; readonly name: string; readonly version: number }
  | { readonly page: "compare"; readonly name: string; readonly versions: readonly number[] }
  | { readonly page: "notFound" };

const NAVIGATED = "registro:navigated";

export const modelPath = (name: string) => `/models/${encodeURIComponent(name)}`;
export const versionPath = (name: string, version: number) => `${modelPath(name)}/versions/${version}`;
export const comparePath = (name: string, versions: readonly number[]) =>
  `${modelPath(name)}/compare?versions=${versions.join(",")}`;

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

const versionNumber = (text: string | undefined) =>
  text !== undefined && /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : null;

export function parseRoute(pathname: string, search: string): Route {
  if (pathname === "/" || pathname === "/models" || pathname === "/models/") return { page: "models" };
  const parts = pathname.split("/").slice(1);
  if (parts[0] !== "models" || parts[1] === undefined) return { page: "notFound" };
  const name = decode(parts[1]);
  if (name === null || name === "") return { page: "notFound" };
  if (parts.length === 2) return { page: "model", name };
  if (parts.length === 4 && parts[2] === "versions") {
    const version = versionNumber(parts[3]);
    return version === null ? { page: "notFound" } : { page: "version", name, version };
  }
  if (parts.length === 3 && parts[2] === "compare") {
    const listed = (new URLSearchParams(search).get("versions") ?? "").split(",").map(versionNumber);
    const versions = [...new Set(listed.filter((v): v is number => v !== null))].sort((a, b) => a - b);
    return { page: "compare", name, versions };
  }
  return { page: "notFound" };
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATED));
  if (!replace) window.scrollTo(0, 0);
}

/** The current location (path and query), re-rendering on every navigation. */
export function useLocation(): { pathname: string; search: string } {
  const read = () => ({ pathname: location.pathname, search: location.search });
  const [current, setCurrent] = useState(read);
  useEffect(() => {
    const update = () => setCurrent(read());
    window.addEventListener("popstate", update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return current;
}

/** An ordinary link (keyboard, middle click, copy link all work) that navigates without reloading. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    props.onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
      return;
    event.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}
