/**
 * Example topologies. Three different graphs (a shop, a media platform with a deep upload pipeline, a
 * bank API on one shared database) so detection is never tuned to one shape. Background error rates
 * and heavy tails are deliberate: healthy runs must contain the noise real services have.
 *
 * Each is a function returning fresh objects, so callers may modify their copy.
 */
import type { DbCall, HttpCall, LatencyDist, OperationDef, Topology } from './types.js';

/** Log-normal latency shorthand: median ms, sigma, tail probability, tail factor. */
export function ln(median: number, sigma: number, tailP = 0, tailFactor = 1): LatencyDist {
  return tailP > 0 ? { median, sigma, tailP, tailFactor } : { median, sigma };
}

function http(service: string, operation: string, opts: Omit<HttpCall, 'service' | 'operation'> = {}): HttpCall {
  return { service, operation, ...opts };
}

function db(name: string, operation: string, target: string, latency: LatencyDist, opts: Omit<DbCall, 'db' | 'operation' | 'target' | 'latency'> = {}): DbCall {
  return { db: name, operation, target, latency, ...opts };
}

function op(name: string, selfTime: LatencyDist, errorRate: number, calls: OperationDef['calls'] = []): OperationDef {
  return { name, selfTime, errorRate, calls };
}

/**
 * The example shop: frontend → checkout → inventory / payment / shipping, with a shared `postgresql`
 * (inventory, checkout, shipping — not payment) and `redis` (sessions, product cache, payment
 * idempotency keys). `GET /admin/reports` is a ~1.7 % entry (≈0.1 rps at 6 rps).
 */
export function shopTopology(): Topology {
  const session = db('redis', 'GET', 'session', ln(0.5, 0.3, 0.005, 8));
  return {
    name: 'shop',
    databases: [
      { name: 'postgresql', address: 'postgres', port: 5432 },
      { name: 'redis', port: 6379 },
    ],
    entries: [
      { service: 'frontend', operation: 'GET /products/:id', weight: 0.5 },
      { service: 'frontend', operation: 'GET /', weight: 0.3 },
      { service: 'frontend', operation: 'POST /checkout', weight: 0.2 },
      { service: 'frontend', operation: 'GET /admin/reports', weight: 0.017 },
    ],
    services: [
      {
        name: 'frontend',
        version: '2.3.1',
        operations: [
          op('GET /products/:id', ln(4, 0.35, 0.01, 6), 0.001, [
            session,
            http('inventory', 'GET /products/:id', { timeoutMs: 2000 }),
            // Delivery estimate is a nice-to-have: short timeout, failure swallowed.
            http('shipping', 'GET /estimate', { timeoutMs: 800, optional: true }),
          ]),
          op('GET /', ln(6, 0.3, 0.01, 5), 0.001, [session, http('inventory', 'GET /products', { timeoutMs: 2000 })]),
          op('POST /checkout', ln(5, 0.3, 0.01, 5), 0.001, [session, http('checkout', 'POST /checkout', { timeoutMs: 10_000 })]),
          op('GET /admin/reports', ln(8, 0.3), 0, [http('checkout', 'GET /orders/report', { timeoutMs: 15_000 })]),
        ],
      },
      {
        name: 'checkout',
        version: '1.8.0',
        operations: [
          op('POST /checkout', ln(12, 0.35, 0.01, 5), 0.002, [
            [http('inventory', 'POST /reserve', { timeoutMs: 2000, retries: 1 }), http('shipping', 'GET /quote', { timeoutMs: 2000 })],
            http('payment', 'POST /payment', { timeoutMs: 3000, retries: 1 }),
            db('postgresql', 'INSERT', 'orders', ln(3, 0.4, 0.005, 10)),
            http('shipping', 'POST /shipments', { timeoutMs: 3000 }),
          ]),
          op('GET /orders/report', ln(20, 0.3), 0.002, [db('postgresql', 'SELECT', 'orders', ln(60, 0.4))]),
        ],
      },
      {
        name: 'inventory',
        version: '3.2.0',
        operations: [
          op('GET /products/:id', ln(3, 0.3, 0.01, 8), 0.001, [
            db('redis', 'GET', 'product', ln(0.6, 0.3)),
            db('postgresql', 'SELECT', 'products', ln(4, 0.4, 0.005, 10), { probability: 0.3 }), // cache miss
          ]),
          op('GET /products', ln(5, 0.3, 0.01, 5), 0.001, [
            db('redis', 'GET', 'products', ln(0.8, 0.3)),
            db('postgresql', 'SELECT', 'products', ln(8, 0.4), { probability: 0.2 }),
          ]),
          op('POST /reserve', ln(4, 0.3, 0.01, 5), 0.001, [db('postgresql', 'UPDATE', 'stock', ln(5, 0.4, 0.005, 8))]),
        ],
      },
      {
        name: 'payment',
        version: '1.4.2',
        operations: [
          op('POST /payment', ln(30, 0.4, 0.01, 5), 0.002, [db('redis', 'SET', 'idempotency', ln(0.5, 0.3))]),
        ],
      },
      {
        name: 'shipping',
        version: '0.9.4',
        operations: [
          op('GET /quote', ln(8, 0.3, 0.01, 5), 0.001),
          op('GET /estimate', ln(6, 0.3, 0.01, 4), 0.001),
          op('POST /shipments', ln(6, 0.3), 0.002, [db('postgresql', 'INSERT', 'shipments', ln(4, 0.4))]),
        ],
      },
    ],
  };
}

/**
 * A media platform: playback and a fan-out home page on the hot path, and an upload pipeline chained
 * like queue stages, five hops deep: edge → ingest → transcoder → packager → publisher → cdn.
 * `mongodb` sits under `catalog` only.
 */
export function mediaTopology(): Topology {
  return {
    name: 'media',
    databases: [
      { name: 'mongodb', address: 'mongo', port: 27017 },
      { name: 'redis', port: 6379 },
      { name: 'postgresql', address: 'postgres', port: 5432 },
    ],
    entries: [
      { service: 'edge', operation: 'GET /play/:id', weight: 0.55 },
      { service: 'edge', operation: 'GET /home', weight: 0.3 },
      { service: 'edge', operation: 'POST /uploads', weight: 0.15 },
    ],
    services: [
      {
        name: 'edge',
        version: '5.1.0',
        operations: [
          op('GET /play/:id', ln(3, 0.3, 0.01, 6), 0.001, [http('playback', 'GET /manifest/:id', { timeoutMs: 3000 })]),
          op('GET /home', ln(4, 0.3, 0.01, 5), 0.001, [
            [
              http('catalog', 'GET /rows', { timeoutMs: 2000 }),
              http('recommendations', 'GET /recommendations', { timeoutMs: 2000 }),
              http('profile', 'GET /profiles/:id', { timeoutMs: 2000 }),
            ],
          ]),
          op('POST /uploads', ln(10, 0.3), 0.002, [http('ingest', 'POST /videos', { timeoutMs: 30_000 })]),
        ],
      },
      {
        name: 'playback',
        version: '2.0.3',
        operations: [
          op('GET /manifest/:id', ln(5, 0.3, 0.01, 5), 0.001, [
            db('redis', 'GET', 'manifest', ln(0.6, 0.3)),
            http('catalog', 'GET /videos/:id', { probability: 0.25, timeoutMs: 1500 }),
          ]),
        ],
      },
      {
        name: 'catalog',
        version: '1.12.0',
        operations: [
          op('GET /videos/:id', ln(3, 0.3, 0.01, 5), 0.001, [db('mongodb', 'find', 'videos', ln(3, 0.4, 0.005, 10))]),
          op('GET /rows', ln(6, 0.3, 0.01, 5), 0.001, [db('mongodb', 'aggregate', 'videos', ln(12, 0.4))]),
        ],
      },
      {
        name: 'recommendations',
        version: '0.7.1',
        operations: [op('GET /recommendations', ln(15, 0.4, 0.01, 5), 0.002, [db('redis', 'GET', 'recs', ln(0.7, 0.3))])],
      },
      {
        name: 'profile',
        version: '1.1.0',
        operations: [op('GET /profiles/:id', ln(3, 0.3), 0.001, [db('postgresql', 'SELECT', 'profiles', ln(2.5, 0.4))])],
      },
      {
        name: 'ingest',
        version: '1.3.0',
        operations: [
          op('POST /videos', ln(15, 0.3), 0.002, [
            http('storage', 'PUT /objects/:key', { timeoutMs: 5000, retries: 1 }),
            http('transcoder', 'POST /jobs', { timeoutMs: 20_000 }),
          ]),
        ],
      },
      {
        name: 'transcoder',
        version: '4.0.2',
        operations: [
          op('POST /jobs', ln(120, 0.35, 0.01, 4), 0.003, [
            http('storage', 'GET /objects/:key', { timeoutMs: 5000 }),
            http('packager', 'POST /packages', { timeoutMs: 15_000 }),
          ]),
        ],
      },
      {
        name: 'packager',
        version: '2.2.0',
        operations: [op('POST /packages', ln(40, 0.3, 0.01, 4), 0.001, [http('publisher', 'POST /publish', { timeoutMs: 10_000 })])],
      },
      {
        name: 'publisher',
        version: '1.0.5',
        operations: [
          op('POST /publish', ln(8, 0.3), 0.001, [
            http('storage', 'PUT /objects/:key', { timeoutMs: 5000, retries: 1 }),
            http('cdn', 'POST /purge', { timeoutMs: 5000 }),
          ]),
        ],
      },
      {
        name: 'storage',
        version: '3.3.3',
        operations: [op('PUT /objects/:key', ln(20, 0.4, 0.01, 5), 0.001), op('GET /objects/:key', ln(15, 0.4, 0.01, 5), 0.001)],
      },
      {
        name: 'cdn',
        version: '9.0.0',
        operations: [op('POST /purge', ln(25, 0.35, 0.01, 5), 0.001)],
      },
    ],
  };
}

/**
 * A bank API: every request is authenticated first; transfers fan out to accounts and fraud scoring,
 * then write the ledger and notify (optional). auth, accounts, ledger and fraud share one `postgresql`.
 */
export function bankTopology(): Topology {
  const verify = http('auth', 'POST /verify', { timeoutMs: 1000 });
  return {
    name: 'bank',
    databases: [
      { name: 'postgresql', address: 'pg-core', port: 5432 },
      { name: 'redis', port: 6379 },
    ],
    entries: [
      { service: 'api', operation: 'GET /accounts/:id', weight: 0.45 },
      { service: 'api', operation: 'GET /accounts/:id/transactions', weight: 0.25 },
      { service: 'api', operation: 'POST /transfers', weight: 0.3 },
    ],
    services: [
      {
        name: 'api',
        version: '4.2.0',
        operations: [
          op('GET /accounts/:id', ln(3, 0.3, 0.01, 6), 0.001, [verify, http('accounts', 'GET /accounts/:id', { timeoutMs: 2000 })]),
          op('GET /accounts/:id/transactions', ln(4, 0.3, 0.01, 5), 0.001, [
            verify,
            [http('accounts', 'GET /accounts/:id', { timeoutMs: 2000 }), http('ledger', 'GET /entries', { timeoutMs: 3000 })],
          ]),
          op('POST /transfers', ln(6, 0.3, 0.01, 5), 0.002, [
            verify,
            [http('accounts', 'GET /accounts/:id', { timeoutMs: 2000 }), http('fraud', 'POST /score', { timeoutMs: 1500 })],
            http('ledger', 'POST /entries', { timeoutMs: 5000 }),
            http('notifications', 'POST /notify', { timeoutMs: 500, optional: true }),
          ]),
        ],
      },
      {
        name: 'auth',
        version: '2.0.1',
        operations: [
          op('POST /verify', ln(2, 0.3, 0.01, 8), 0.001, [
            db('redis', 'GET', 'sessions', ln(0.5, 0.3)),
            db('postgresql', 'SELECT', 'users', ln(2, 0.4), { probability: 0.1 }),
          ]),
        ],
      },
      {
        name: 'accounts',
        version: '3.1.4',
        operations: [op('GET /accounts/:id', ln(3, 0.3, 0.01, 5), 0.001, [db('postgresql', 'SELECT', 'accounts', ln(2.5, 0.4, 0.005, 10))])],
      },
      {
        name: 'ledger',
        version: '6.0.0',
        operations: [
          op('GET /entries', ln(4, 0.3, 0.01, 5), 0.001, [db('postgresql', 'SELECT', 'entries', ln(8, 0.45, 0.01, 6))]),
          op('POST /entries', ln(6, 0.3, 0.01, 5), 0.001, [
            db('postgresql', 'INSERT', 'entries', ln(3, 0.4)),
            db('postgresql', 'UPDATE', 'balances', ln(3, 0.4)),
          ]),
        ],
      },
      {
        name: 'fraud',
        version: '1.9.2',
        operations: [
          op('POST /score', ln(18, 0.35, 0.01, 5), 0.001, [
            db('redis', 'GET', 'features', ln(0.6, 0.3)),
            db('postgresql', 'SELECT', 'transactions', ln(6, 0.4)),
          ]),
        ],
      },
      {
        name: 'notifications',
        version: '0.4.0',
        operations: [op('POST /notify', ln(4, 0.3), 0.005)],
      },
    ],
  };
}

/**
 * A gRPC shop in the style of the microservice demos (every service a gRPC server; the frontend and
 * checkout are hubs that call nearly everything). Used by the foreign-tracer family with gRPC names.
 */
export function boutiqueTopology(): Topology {
  const currency = http('currency', 'POST /convert', { timeoutMs: 3000 });
  const product = http('productcatalog', 'GET /products/:id', { timeoutMs: 3000 });
  const getCart = http('cart', 'GET /cart', { timeoutMs: 3000 });
  return {
    name: 'boutique',
    databases: [{ name: 'redis', port: 6379 }],
    entries: [
      { service: 'frontend', operation: 'GET /', weight: 0.35 },
      { service: 'frontend', operation: 'GET /product/:id', weight: 0.4 },
      { service: 'frontend', operation: 'POST /cart', weight: 0.15 },
      { service: 'frontend', operation: 'POST /cart/checkout', weight: 0.1 },
    ],
    services: [
      {
        name: 'frontend',
        version: '0.8.0',
        operations: [
          op('GET /', ln(3, 0.3, 0.01, 5), 0.001, [
            [http('currency', 'GET /currencies', { timeoutMs: 3000 }), http('productcatalog', 'GET /products', { timeoutMs: 3000 })],
            getCart,
            currency,
            http('ad', 'GET /ads', { timeoutMs: 500, optional: true }),
          ]),
          op('GET /product/:id', ln(3, 0.3, 0.01, 5), 0.001, [
            product,
            currency,
            getCart,
            http('recommendation', 'GET /recommendations', { timeoutMs: 3000 }),
            http('ad', 'GET /ads', { timeoutMs: 500, optional: true }),
          ]),
          op('POST /cart', ln(2, 0.3), 0.001, [product, http('cart', 'POST /cart', { timeoutMs: 3000 })]),
          op('POST /cart/checkout', ln(4, 0.3), 0.001, [http('checkout', 'POST /orders', { timeoutMs: 10_000 })]),
        ],
      },
      {
        name: 'checkout',
        version: '0.8.0',
        operations: [
          op('POST /orders', ln(5, 0.3, 0.01, 5), 0.001, [
            getCart,
            product,
            currency,
            http('shipping', 'GET /quote', { timeoutMs: 3000 }),
            http('payment', 'POST /charge', { timeoutMs: 3000 }),
            http('shipping', 'POST /ship', { timeoutMs: 3000 }),
            http('cart', 'DELETE /cart', { timeoutMs: 3000 }),
            http('email', 'POST /send', { timeoutMs: 3000, optional: true }),
          ]),
        ],
      },
      {
        name: 'cart',
        version: '0.8.0',
        operations: [
          op('GET /cart', ln(1.5, 0.3), 0.001, [db('redis', 'HGETALL', 'cart', ln(0.5, 0.3))]),
          op('POST /cart', ln(1.5, 0.3), 0.001, [db('redis', 'HSET', 'cart', ln(0.6, 0.3))]),
          op('DELETE /cart', ln(1.2, 0.3), 0.001, [db('redis', 'DEL', 'cart', ln(0.5, 0.3))]),
        ],
      },
      {
        name: 'productcatalog',
        version: '0.8.0',
        operations: [op('GET /products', ln(4, 0.35, 0.01, 5), 0.001), op('GET /products/:id', ln(2, 0.35, 0.01, 5), 0.001)],
      },
      {
        name: 'currency',
        version: '0.8.0',
        operations: [op('GET /currencies', ln(1.5, 0.3), 0.001), op('POST /convert', ln(2.5, 0.3, 0.01, 5), 0.001)],
      },
      {
        name: 'recommendation',
        version: '0.8.0',
        operations: [op('GET /recommendations', ln(6, 0.35), 0.001, [http('productcatalog', 'GET /products', { timeoutMs: 3000 })])],
      },
      { name: 'shipping', version: '0.8.0', operations: [op('GET /quote', ln(2, 0.3), 0.001), op('POST /ship', ln(3, 0.3), 0.001)] },
      { name: 'payment', version: '0.8.0', operations: [op('POST /charge', ln(8, 0.35, 0.01, 4), 0.001)] },
      { name: 'email', version: '0.8.0', operations: [op('POST /send', ln(10, 0.4), 0.001)] },
      { name: 'ad', version: '0.8.0', operations: [op('GET /ads', ln(3, 0.3), 0.001)] },
    ],
  };
}

/**
 * A ticketing system in the style of the Java benchmark systems: HTTP everywhere, and an `order`
 * service that nearly every other service calls (a hub: it slows whenever anything under it does).
 * `GET /stations` is a low-traffic admin entry (~1.5% of requests).
 */
export function ticketTopology(): Topology {
  const mysql = (operation: string, target: string, median: number) => db('mysql', operation, target, ln(median, 0.4, 0.005, 8));
  return {
    name: 'ticket',
    databases: [{ name: 'mysql', port: 3306 }],
    entries: [
      { service: 'gateway', operation: 'GET /trips', weight: 0.45 },
      { service: 'gateway', operation: 'POST /orders', weight: 0.2 },
      { service: 'gateway', operation: 'GET /orders/:id', weight: 0.335 },
      { service: 'gateway', operation: 'GET /stations', weight: 0.015 },
    ],
    services: [
      {
        name: 'gateway',
        version: '1.0.0',
        operations: [
          op('GET /trips', ln(2, 0.3, 0.01, 5), 0.001, [http('travel', 'GET /trips', { timeoutMs: 5000 })]),
          op('POST /orders', ln(2, 0.3, 0.01, 5), 0.001, [http('preserve', 'POST /preserve', { timeoutMs: 8000 })]),
          op('GET /orders/:id', ln(2, 0.3, 0.01, 5), 0.001, [http('order', 'GET /orders/:id', { timeoutMs: 5000 })]),
          op('GET /stations', ln(3, 0.3), 0, [http('station', 'GET /stations', { timeoutMs: 10_000 })]),
        ],
      },
      {
        name: 'travel',
        version: '1.0.0',
        operations: [
          op('GET /trips', ln(6, 0.3, 0.01, 5), 0.001, [
            [http('route', 'GET /routes/:id', { timeoutMs: 3000 }), http('price', 'GET /prices', { timeoutMs: 3000 })],
            http('seat', 'GET /seats/left', { timeoutMs: 3000 }),
          ]),
        ],
      },
      {
        name: 'preserve',
        version: '1.0.0',
        operations: [
          op('POST /preserve', ln(8, 0.3, 0.01, 5), 0.002, [
            http('user', 'GET /users/:id', { timeoutMs: 3000 }),
            http('security', 'GET /check', { timeoutMs: 3000 }),
            http('seat', 'GET /seats/left', { timeoutMs: 3000 }),
            http('order', 'POST /orders', { timeoutMs: 5000 }),
          ]),
        ],
      },
      {
        name: 'seat',
        version: '1.0.0',
        operations: [
          op('GET /seats/left', ln(4, 0.3, 0.01, 5), 0.001, [
            http('order', 'GET /orders/sold', { timeoutMs: 3000 }),
            http('config', 'GET /configs/:id', { timeoutMs: 3000 }),
          ]),
        ],
      },
      {
        name: 'security',
        version: '1.0.0',
        operations: [op('GET /check', ln(3, 0.3), 0.001, [http('order', 'GET /orders/count', { timeoutMs: 3000 })])],
      },
      {
        name: 'order',
        version: '1.0.0',
        operations: [
          op('GET /orders/:id', ln(3, 0.3, 0.01, 5), 0.001, [mysql('SELECT', 'orders', 2)]),
          op('GET /orders/sold', ln(4, 0.3, 0.01, 5), 0.001, [mysql('SELECT', 'orders', 3)]),
          op('GET /orders/count', ln(2, 0.3, 0.01, 5), 0.001, [mysql('SELECT', 'orders', 2)]),
          op('POST /orders', ln(5, 0.3, 0.01, 5), 0.001, [http('station', 'GET /stations/:id', { timeoutMs: 3000 }), mysql('INSERT', 'orders', 3)]),
        ],
      },
      {
        name: 'station',
        version: '1.0.0',
        operations: [op('GET /stations/:id', ln(2, 0.3, 0.01, 5), 0.001), op('GET /stations', ln(15, 0.3), 0.001)],
      },
      { name: 'route', version: '1.0.0', operations: [op('GET /routes/:id', ln(3, 0.3), 0.001)] },
      { name: 'price', version: '1.0.0', operations: [op('GET /prices', ln(2, 0.3), 0.001)] },
      { name: 'config', version: '1.0.0', operations: [op('GET /configs/:id', ln(1.5, 0.3), 0.001)] },
      { name: 'user', version: '1.0.0', operations: [op('GET /users/:id', ln(2.5, 0.3), 0.001)] },
    ],
  };
}
