/**
 * Authentication of API requests: `Authorization: Bearer <token>` resolved to a {@link Principal}
 * by the tokens file, a JWKS-verified JWT, or the dev token.
 */
import type { Config } from '../../config/index.js';
import { createAuthenticator, type Authenticator, type TokenVerifier } from './authenticator.js';
import { jwtVerifier } from './jwt.js';
import { devTokenVerifier, readTokensFile, tokenEntriesVerifier } from './tokens-file.js';

export { createAuthenticator, type Authenticator, type TokenVerifier } from './authenticator.js';
export { ensureDevToken, devTokenFile } from './dev-token.js';
export { jwtVerifier, type JwtVerifierOptions } from './jwt.js';
export { ADMIN_ROLE, hasRole, inNamespace, type Principal } from './principal.js';
export { devTokenVerifier, readTokensFile, tokenEntriesVerifier, type TokenEntry } from './tokens-file.js';

/** True when the config names at least one way to authenticate. */
export function authConfigured(config: Config): boolean {
  return config.authFile !== undefined || config.devToken !== undefined || config.jwksUrl !== undefined;
}

/**
 * The authenticator `config` describes: the tokens file (`authFile`), JWTs (`jwksUrl`, with
 * `jwtIssuer` and `jwtAudience`), and the dev token (`devToken`), in that order. With none of them
 * every request is refused with 401.
 *
 * @throws {ConfigError} when the tokens file is unreadable or invalid.
 */
export function authenticatorFromConfig(config: Config): Authenticator {
  const verifiers: TokenVerifier[] = [];
  if (config.authFile !== undefined) verifiers.push(tokenEntriesVerifier(readTokensFile(config.authFile)));
  if (config.jwksUrl !== undefined) {
    verifiers.push(
      jwtVerifier({
        jwksUrl: config.jwksUrl,
        ...(config.jwtIssuer === undefined ? {} : { issuer: config.jwtIssuer }),
        ...(config.jwtAudience === undefined ? {} : { audience: config.jwtAudience }),
      }),
    );
  }
  if (config.devToken !== undefined) verifiers.push(devTokenVerifier(config.devToken));
  return createAuthenticator(verifiers);
}
