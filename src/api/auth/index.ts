/**
 * Authentication of API requests: `Authorization: Bearer <token>` resolved to an {@link AuthenticatedPrincipal}
 * by the tokens file, a JWKS-verified JWT, or the dev token.
 */
import type { AuthSettings } from '../../config/index.js';
import { ConfigError } from '../../errors/index.js';
import { createAuthenticator, type Authenticator, type TokenVerifier } from './authenticator.js';
import { jwtVerifier } from './jwt.js';
import { devTokenVerifier, readTokensFile, tokenEntriesVerifier } from './tokens-file.js';

export { createAuthenticator, type Authenticator, type TokenVerifier } from './authenticator.js';
export { ensureDevToken, devTokenFile } from './dev-token.js';
export { jwtVerifier, type JwtVerifierOptions } from './jwt.js';
export { ADMIN_ROLE, hasRole, inNamespace, type AuthenticatedPrincipal } from './principal.js';
export { devTokenVerifier, readTokensFile, tokenEntriesVerifier, type TokenEntry } from './tokens-file.js';

/** True when the config names at least one way to authenticate. */
export function authConfigured(config: AuthSettings): boolean {
  return config.authFile !== undefined || config.devToken !== undefined || config.jwksUrl !== undefined;
}

/**
 * The authenticator `config` describes: the tokens file (`authFile`), JWTs (`jwksUrl`, with
 * `jwtIssuer`, `jwtAudience` and `jwtAlgorithms`), and the dev token (`devToken`), in that order.
 * With none of them every request is refused with 401.
 *
 * @throws {ConfigError} when the tokens file is unreadable or invalid, a JWKS is configured without
 *   an issuer and an audience, or the dev token is set beside real authentication without `allowDevToken`.
 */
export function authenticatorFromConfig(config: AuthSettings): Authenticator {
  const { authFile, jwksUrl, jwtIssuer, jwtAudience, jwtAlgorithms, devToken } = config;
  const verifiers: TokenVerifier[] = [];
  if (authFile !== undefined) verifiers.push(tokenEntriesVerifier(readTokensFile(authFile)));
  if (jwksUrl !== undefined) {
    if (jwtIssuer === undefined || jwtAudience === undefined) {
      throw new ConfigError(
        'MAESTRO_JWKS_URL needs MAESTRO_JWT_ISSUER and MAESTRO_JWT_AUDIENCE: without them, a token the identity provider issued to another application (or another issuer sharing the keys) would be accepted',
        { details: { setting: jwtIssuer === undefined ? 'MAESTRO_JWT_ISSUER' : 'MAESTRO_JWT_AUDIENCE' } },
      );
    }
    verifiers.push(jwtVerifier({ jwksUrl, issuer: jwtIssuer, audience: jwtAudience, ...(jwtAlgorithms === undefined ? {} : { algorithms: jwtAlgorithms }) }));
  }
  if (devToken !== undefined) {
    if ((authFile !== undefined || jwksUrl !== undefined) && config.allowDevToken !== true) {
      throw new ConfigError(
        `MAESTRO_DEV_TOKEN is set beside ${authFile !== undefined ? 'MAESTRO_AUTH_FILE' : 'MAESTRO_JWKS_URL'}: it is an admin token for every namespace, usually left over from development. Unset it, or set MAESTRO_ALLOW_DEV_TOKEN=true to keep it`,
        { details: { setting: 'MAESTRO_DEV_TOKEN' } },
      );
    }
    verifiers.push(devTokenVerifier(devToken));
  }
  return createAuthenticator(verifiers);
}
