/**
 * JWT bearer tokens for OIDC deployments, verified against the identity provider's JWKS (jose).
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { JWT_ALGORITHMS } from '../../config/index.js';
import { MaestroError } from '../../errors/index.js';
import type { TokenVerifier } from './authenticator.js';
import type { AuthenticatedPrincipal } from './principal.js';

/** Options of {@link jwtVerifier}. */
export interface JwtVerifierOptions {
  /** URL of the JSON Web Key Set. */
  jwksUrl: string;
  /** Required `iss`: a key set may sign for several issuers. */
  issuer: string;
  /** Required `aud`: an issuer signs tokens for many applications, not only Maestro. */
  audience: string;
  /**
   * Signature algorithms accepted (asymmetric only: the keys are public).
   * @default {@link JWT_ALGORITHMS}
   */
  algorithms?: readonly string[];
  /**
   * Claim holding the roles (a list, or a space-separated string).
   * @default 'roles'
   */
  rolesClaim?: string;
  /**
   * Claim holding the namespaces.
   * @default 'namespaces' — absent: no namespace (the token may read only what is not namespaced)
   */
  namespacesClaim?: string;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function list(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return undefined;
}

function principalOf(payload: JWTPayload, rolesClaim: string, namespacesClaim: string): AuthenticatedPrincipal {
  const subject = typeof payload.preferred_username === 'string' ? payload.preferred_username : (payload.sub ?? 'unknown');
  return { subject, roles: list(payload[rolesClaim]) ?? [], namespaces: list(payload[namespacesClaim]) ?? [], via: 'jwt' };
}

/**
 * A verifier for JWTs signed by a key of the JWKS (fetched, cached and refreshed by jose when a
 * new key id appears). A token that is not JWT-shaped is left to the other verifiers; a JWT that
 * fails verification (an algorithm not allowed, signature, missing or past `exp`, issuer,
 * audience) is unknown.
 */
export function jwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const { jwksUrl, issuer, audience, algorithms = JWT_ALGORITHMS, rolesClaim = 'roles', namespacesClaim = 'namespaces' } = options;
  const keys = createRemoteJWKSet(new URL(jwksUrl));
  return {
    async verify(token) {
      if (!JWT_SHAPE.test(token)) return undefined;
      try {
        // A token without `exp` would be good forever once leaked.
        const { payload } = await jwtVerify(token, keys, { issuer, audience, algorithms: [...algorithms], requiredClaims: ['exp'] });
        return principalOf(payload, rolesClaim, namespacesClaim);
      } catch (error) {
        // A token that does not verify is simply not known; a JWKS that cannot be fetched is an outage.
        if (error instanceof joseErrors.JOSEError && !(error instanceof joseErrors.JWKSTimeout)) return undefined;
        throw new MaestroError('UNAVAILABLE', `cannot fetch the JWKS at ${jwksUrl} to verify the token`, { cause: error });
      }
    },
  };
}
