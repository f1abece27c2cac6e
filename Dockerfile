# Maestro's worker and API, for docker-compose.temporal.yml. TypeScript runs directly through tsx.

# OPA, built from its Go module: the version scripts/opa.mjs pins (OPA_VERSION).
FROM golang:1.26 AS opa
RUN CGO_ENABLED=0 GOBIN=/out go install github.com/open-policy-agent/opa@v1.22.2

# Build-time outputs, never committed: the policy bundles (dist/policy/) and the console (console/dist/).
FROM node:20.19-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
COPY --from=opa /out/opa /usr/local/bin/opa
RUN node scripts/opa.mjs build && node scripts/console.mjs

FROM node:20.19-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
COPY --from=build /app/dist/policy dist/policy
COPY --from=build /app/console/dist console/dist
USER node
# `maestro worker` by default; the compose file and the chart pick `worker` or `api`.
CMD ["npx", "tsx", "src/cli/main.ts", "worker"]
