/**
 * Bearer-token authentication: tokens from the tokens file, JWTs against a JWKS, the dev token.
 */
import { MaestroError } from '../../errors/index.js';
import type { AuthenticatedPrincipal } from './principal.js';

/** Turns a bearer token into an {@link AuthenticatedPrincipal}. */
export interface TokenVerifier {
  /** Resolves the principal, or undefined when this verifier does not know the token. */
  verify(token: string): Promise<AuthenticatedPrincipal | undefined>;
}

/** Authenticates requests from their `Authorization` header. */
export interface Authenticator {
  /**
   * @throws MaestroError `UNAUTHENTICATED` when the header is missing, malformed, or names no
   *   known token.
   */
  authenticate(authorization: string | undefined): Promise<AuthenticatedPrincipal>;
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)[ ]*$/i;

/**
 * An {@link Authenticator} asking each verifier in turn; the first that knows the token wins.
 *
 * @example
 * const auth = createAuthenticator([tokensFileVerifier(file), devTokenVerifier(token)]);
 * const principal = await auth.authenticate(req.headers.authorization);
 */
export function createAuthenticator(verifiers: readonly TokenVerifier[]): Authenticator {
  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') {
        throw new MaestroError('UNAUTHENTICATED', 'missing Authorization header: send "Authorization: Bearer <token>"');
      }
      const token = BEARER.exec(authorization)?.[1];
      if (token === undefined) throw new MaestroError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
      for (const verifier of verifiers) {
        const principal = await verifier.verify(token);
        if (principal) return principal;
      }
      throw new MaestroError('UNAUTHENTICATED', 'the bearer token is not valid');
    },
  };
}
