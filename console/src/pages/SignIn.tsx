/**
 * The token form: the token is kept in this tab's sessionStorage and sent as a bearer token.
 */
import { useId, useState } from 'react';
import { setToken } from '../api/index.js';

/** Asks for the API token; `rejected` says the previous one was refused. */
export function SignIn({ rejected }: { rejected: boolean }) {
  const [value, setValue] = useState('');
  const id = useId();
  return (
    <section className="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in to Maestro</h1>
      {rejected ? (
        <p className="notice notice-error" role="alert">
          The API rejected the token. Enter a valid one.
        </p>
      ) : null}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim()) setToken(value.trim());
        }}
      >
        <label htmlFor={id}>API token</label>
        <input id={id} type="password" autoComplete="current-password" required value={value} onChange={(event) => setValue(event.target.value)} />
        <p className="hint">
          The token is kept in this browser tab only. With <code>npm start</code>, the dev token is in <code>.maestro/dev-token</code>.
        </p>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </section>
  );
}
