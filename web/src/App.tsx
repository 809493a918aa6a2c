import { useEffect, useMemo, useRef, useState } from "react";
import type { FormEvent } from "react";
import { Provider, useClient, useQuery } from "urql";
import { authorization, forgetToken, storeToken, storedToken } from "./auth.ts";
import { connect } from "./client.ts";
import { ErrorNote, Loading } from "./components.tsx";
import { stageLabel } from "./format.ts";
import { AliasChangesDocument, StageChangesDocument, ViewerDocument } from "./generated/graphql.ts";
import type { ViewerQuery } from "./generated/graphql.ts";
import { ComparePage } from "./pages/ComparePage.tsx";
import { ModelPage } from "./pages/ModelPage.tsx";
import { ModelsPage } from "./pages/ModelsPage.tsx";
import { VersionPage } from "./pages/VersionPage.tsx";
import { Link, navigate, parseRoute, useLocation } from "./router.tsx";
import { SSO_CALLBACK_PATH, SsoError, beginSsoSignIn, completeSsoSignIn, ssoSettings } from "./sso.ts";
import type { SsoSettings, SsoSignedIn } from "./sso.ts";
import { announceLiveChange } from "./live.ts";
import { ToastProvider, useToast } from "./toasts.tsx";
import { ViewerContext } from "./viewer.ts";

/** The sign-in finishing on the callback route: once per answer (StrictMode runs effects twice). */
let completing: { readonly search: string; readonly result: Promise<SsoSignedIn> } | null = null;
function completeOnce(settings: SsoSettings, search: string): Promise<SsoSignedIn> {
  if (completing?.search !== search) completing = { search, result: completeSsoSignIn(settings, search) };
  return completing.result;
}

export function App() {
  const sso = useMemo(() => ssoSettings(), []);
  const [token, setToken] = useState(storedToken);
  /** What the sign-in screen says first: why the user is (again) signed out. */
  const [notice, setNotice] = useState<string | null>(null);
  const [callback, setCallback] = useState(() => location.pathname === SSO_CALLBACK_PATH);
  const connection = useMemo(
    () =>
      connect(token, () => {
        // A late answer to a token already replaced (signed out, signed in anew) changes nothing.
        if (storedToken() !== token) return;
        forgetToken();
        setToken(null);
        setNotice("Your sign-in has expired or was revoked. Sign in again.");
      }),
    [token],
  );
  useEffect(() => () => connection.close(), [connection]);
  useEffect(() => {
    if (!callback) return;
    if (sso === null) {
      setNotice("This registry offers no single sign-on.");
      navigate("/", true);
      setCallback(false);
      return;
    }
    completeOnce(sso, location.search).then(
      ({ accessToken, returnTo }) => {
        storeToken(accessToken, false);
        setToken(accessToken);
        setNotice(null);
        navigate(returnTo, true);
        setCallback(false);
      },
      (error: unknown) => {
        setNotice(error instanceof SsoError ? error.message : `Single sign-on failed: ${String(error)}`);
        navigate("/", true);
        setCallback(false);
      },
    );
  }, [callback, sso]);
  if (callback) return <Loading what="your single sign-on" />;
  return (
    <Provider value={connection.client}>
      <ToastProvider>
        <Shell
          token={token}
          sso={sso}
          notice={notice}
          onSignIn={(secret, remember) => {
            storeToken(secret, remember);
            setNotice(null);
            setToken(secret);
          }}
          onSignOut={() => {
            forgetToken();
            setNotice(null);
            setToken(null);
          }}
        />
      </ToastProvider>
    </Provider>
  );
}

interface ShellProps {
  readonly token: string | null;
  /** The SSO sign-in the registry offers, or null. */
  readonly sso: SsoSettings | null;
  readonly notice: string | null;
  readonly onSignIn: (token: string, remember: boolean) => void;
  readonly onSignOut: () => void;
}

function Shell({ token, sso, notice, onSignIn, onSignOut }: ShellProps) {
  const [{ data, fetching, error }] = useQuery({ query: ViewerDocument });
  const unauthenticated = (error?.response as Response | undefined)?.status === 401;
  const viewer = data?.viewer ?? null;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Registro
        </Link>
        <nav aria-label="Main">
          <Link href="/">Models</Link>
          <a href="/graphql">GraphiQL</a>
          <a href="/docs">Docs</a>
        </nav>
        <div className="who">
          {viewer && (
            <span data-testid="viewer">
              <bdi>{viewer.displayName}</bdi> <span className="muted">({viewer.role.toLowerCase()})</span>
            </span>
          )}
          {token !== null ? (
            <button type="button" className="link-button" onClick={onSignOut}>
              Sign out
            </button>
          ) : (
            viewer && <SignInDisclosure onSignIn={onSignIn} sso={sso} />
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {fetching && !data ? (
          <Loading what="your identity" />
        ) : unauthenticated || (error && !viewer) ? (
          <SignIn
            onSignIn={onSignIn}
            sso={sso}
            problem={
              notice ??
              (token !== null
                ? "The server refused the stored token (revoked or expired?). Sign in again."
                : unauthenticated
                  ? sso === null
                    ? "This registry requires a token."
                    : "This registry requires signing in."
                  : (error?.message ?? null))
            }
          />
        ) : viewer ? (
          <ViewerContext.Provider value={viewer}>
            {notice && <ErrorNote message={notice} />}
            <LiveUpdates />
            <Pages />
          </ViewerContext.Provider>
        ) : null}
      </main>
    </>
  );
}

function Pages() {
  const { pathname, search } = useLocation();
  const route = parseRoute(pathname, search);
  const first = useRef(true);
  useEffect(() => {
    // After a navigation, keyboard and screen-reader users start at the new page's content.
    if (first.current) first.current = false;
    else document.getElementById("main")?.focus();
  }, [pathname]);
  useEffect(() => {
    document.title =
      route.page === "models"
        ? "Models · Registro"
        : route.page === "notFound"
          ? "Not found · Registro"
          : `${route.name} · Registro`;
  }, [route]);
  switch (route.page) {
    case "models":
      return <ModelsPage />;
    case "model":
      return <ModelPage name={route.name} />;
    case "version":
      return <VersionPage name={route.name} version={route.version} />;
    case "compare":
      return <ComparePage name={route.name} versions={route.versions} />;
    case "notFound":
      return (
        <div className="card">
          <h1>Not found</h1>
          <p>
            No page here. <Link href="/">Back to the models</Link>.
          </p>
        </div>
      );
  }
}

/**
 * Promotions and alias moves, as they are committed: the payloads land in the normalized cache
 * (every table showing the version updates) and a toast says what happened.
 */
function LiveUpdates() {
  const client = useClient();
  const toast = useToast();
  useEffect(() => {
    const stages = client.subscription(StageChangesDocument, {}).subscribe((result) => {
      const change = result.data?.modelVersionStageChanged;
      if (change) announceLiveChange(change.modelVersion.model.name);
      if (change)
        toast(
          <>
            <bdi>{change.modelVersion.model.name}</bdi> v{change.version}: {stageLabel(change.previousStage)}{" "}
            → {stageLabel(change.stage)} (by <bdi>{change.actor.displayName}</bdi>)
          </>,
        );
    });
    const aliases = client.subscription(AliasChangesDocument, {}).subscribe((result) => {
      const change = result.data?.registeredModelAliasChanged;
      if (!change) return;
      const model = (change.modelVersion ?? change.previousModelVersion)?.model.name ?? "a model";
      announceLiveChange(model);
      const what =
        change.change === "DELETED"
          ? `removed from v${change.previousVersion ?? "?"}`
          : change.change === "MOVED"
            ? `moved v${change.previousVersion ?? "?"} → v${change.version ?? "?"}`
            : `set on v${change.version ?? "?"}`;
      toast(
        <>
          <bdi>{model}</bdi> @{change.alias} {what} (by <bdi>{change.actor.displayName}</bdi>)
        </>,
      );
    });
    return () => {
      stages.unsubscribe();
      aliases.unsubscribe();
    };
  }, [client, toast]);
  return null;
}

function SignInDisclosure({ onSignIn, sso }: Pick<ShellProps, "onSignIn" | "sso">) {
  const [open, setOpen] = useState(false);
  return open ? (
    <div className="popover">
      <SignIn onSignIn={onSignIn} sso={sso} problem={null} onCancel={() => setOpen(false)} />
    </div>
  ) : (
    <button type="button" className="link-button" onClick={() => setOpen(true)}>
      Sign in with a token
    </button>
  );
}

/** Checks the token against the API (`viewer`) before keeping it. */
function SignIn(props: {
  onSignIn: ShellProps["onSignIn"];
  sso: SsoSettings | null;
  problem: string | null;
  onCancel?: () => void;
}) {
  const [secret, setSecret] = useState("");
  const [remember, setRemember] = useState(false);
  const [problem, setProblem] = useState(props.problem);
  const [busy, setBusy] = useState(false);
  const { sso } = props;
  const signInWithSso = async () => {
    if (sso === null) return;
    setBusy(true);
    try {
      // On success the browser leaves for the identity provider; busy stays on until it does.
      await beginSsoSignIn(sso, `${location.pathname}${location.search}`);
    } catch (error) {
      setProblem(error instanceof SsoError ? error.message : `Single sign-on failed: ${String(error)}`);
      setBusy(false);
    }
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const token = secret.trim();
    if (token === "") return setProblem("Paste an API token (rgo_…) or an SSO access token.");
    setBusy(true);
    try {
      const response = await fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", ...authorization(token) },
        body: JSON.stringify({ query: "{ viewer { id } }" }),
      });
      const body = (await response.json()) as { data?: ViewerQuery };
      if (response.ok && body.data?.viewer) props.onSignIn(token, remember);
      else setProblem("The server refused this token.");
    } catch {
      setProblem("The server could not be reached.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card sign-in" onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-heading">
      <h1 id="sign-in-heading">Sign in</h1>
      {problem && <ErrorNote message={problem} />}
      {sso && (
        <div className="sso">
          <button type="button" onClick={() => void signInWithSso()} disabled={busy}>
            Sign in with single sign-on
          </button>
          <p className="muted">At {new URL(sso.issuer).host}. Or paste a token:</p>
        </div>
      )}
      <label htmlFor="token">API token</label>
      <input
        id="token"
        type="password"
        autoComplete="off"
        value={secret}
        onChange={(e) => setSecret(e.target.value)}
        placeholder="rgo_…"
      />
      <label className="inline">
        <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} /> Remember
        on this device
      </label>
      <p className="muted">
        Without &ldquo;remember&rdquo;, the token is kept only until this tab closes. Create one with{" "}
        <code>createApiToken</code> (see <a href="/docs/access">access</a>).
      </p>
      <div className="actions">
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {props.onCancel && (
          <button type="button" className="secondary" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
