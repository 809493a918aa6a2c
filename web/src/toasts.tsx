// Small notices in an aria-live region: screen readers announce them, sighted users see them in a
// corner for a few seconds (or until dismissed).
import { createContext, useCallback, useContext, useMemo, useState } from "react";
import type { ReactNode } from "react";

interface Toast {
  readonly id: number;
  /** Names in it sit in <bdi>, like everywhere else: a direction control in one stays inside it. */
  readonly text: ReactNode;
}

const ToastContext = createContext<(text: ReactNode) => void>(() => undefined);

export const useToast = () => useContext(ToastContext);

let nextId = 1;

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<readonly Toast[]>([]);
  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const show = useCallback(
    (text: ReactNode) => {
      const id = nextId++;
      setToasts((all) => [...all.slice(-4), { id, text }]);
      setTimeout(() => dismiss(id), 8_000);
    },
    [dismiss],
  );
  const value = useMemo(() => show, [show]);
  return (
    <ToastContext.Provider value={value}>
      {children}
      <div className="toasts" role="status" aria-live="polite" aria-label="Notifications">
        {toasts.map((toast) => (
          <div className="toast" key={toast.id}>
            <span>{toast.text}</span>
            <button
              type="button"
              className="link-button"
              onClick={() => dismiss(toast.id)}
              aria-label="Dismiss"
            >
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}
