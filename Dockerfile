# Maestro's worker and API, for docker-compose.temporal.yml. TypeScript runs directly through tsx.
FROM node:20.19-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
USER node
# The compose file picks the command: the worker, or `src/cli/main.ts api`.
CMD ["npx", "tsx", "workers/worker.ts"]
