# One image for every role: `trib scheduler|worker|dashboard|migrate` (see docker-compose.yml).
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
RUN ln -s /app/bin/trib.mjs /usr/local/bin/trib
USER node
CMD ["trib", "--help"]
