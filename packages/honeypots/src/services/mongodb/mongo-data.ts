/**
 * The fake content of the "left open" mongod: admin/config/local plus a bait
 * database `customers`. Every connection gets its own copy (writes are
 * acknowledged and visible only to that connection).
 */
import { Double, Long, ObjectId, UUID, type Document } from 'bson';

export interface Collection {
  uuid: UUID;
  docs: Document[];
  /** extra index names besides _id_ */
  indexes: { name: string; key: Document; unique?: boolean }[];
}

export type Databases = Map<string, Map<string, Collection>>;

/** bytes of each database in listDatabases (fixed bait numbers for the known ones) */
export const DB_SIZES: Record<string, number> = { admin: 40960, config: 110592, customers: 2_387_968, local: 73728 };

const oid = (hex: string) => ObjectId.createFromHexString(hex);
const when = (iso: string) => new Date(iso);

function customers(): Document[] {
  const rows: [string, string, string, string, string, string][] = [
    ['Margaret', 'Holloway', 'm.holloway@gmail.com', '+1-312-555-0147', '4417', 'Chicago'],
    ['Daniel', 'Okafor', 'dokafor@outlook.com', '+1-646-555-0192', '0035', 'New York'],
    ['Priya', 'Raman', 'priya.raman@yahoo.com', '+1-408-555-0116', '8823', 'San Jose'],
    ['Lukas', 'Brenner', 'lukas.brenner@web.de', '+49-30-5550-1874', '5121', 'Berlin'],
    ['Sofia', 'Marquez', 'sofia.mq@hotmail.com', '+1-305-555-0163', '9904', 'Miami'],
    ['Thomas', 'Whitfield', 'twhitfield@protonmail.com', '+44-20-7946-0321', '2290', 'London'],
  ];
  return rows.map(([first, last, email, phone, last4, city], i) => ({
    _id: oid(`65a1f3c2e4b0a1d2c3f4${(0x5a10 + i).toString(16)}`),
    firstName: first,
    lastName: last,
    email,
    phone,
    address: { city, zip: String(60601 + i * 731).padStart(5, '0') },
    card: { brand: i % 2 ? 'mastercard' : 'visa', last4, exp: `${(i % 12) + 1}/2${7 - (i % 3)}` },
    loyaltyPoints: 120 * (i + 3),
    createdAt: when(`2023-0${(i % 9) + 1}-1${i}T0${i}:14:22.000Z`),
  }));
}

function users(): Document[] {
  return [
    { _id: oid('65a1f3c2e4b0a1d2c3f50001'), username: 'admin', email: 'it-admin@example-shop.com', role: 'admin', passwordHash: '$2b$10$Qm1c7yq8G3z0pJk6mX9eAuVdS1oR4nB2fT7hL5wC8eZ0yN3kP6rGm', lastLogin: when('2024-03-11T08:41:09.000Z') },
    { _id: oid('65a1f3c2e4b0a1d2c3f50002'), username: 'jsmith', email: 'j.smith@example-shop.com', role: 'support', passwordHash: '$2b$10$7vHq2Lx0Wn5Rt9Yc3Bm6KuJp8Zs1Df4Gh0Ak2Ne5Qw7Er9Ty3Ui1O', lastLogin: when('2024-03-10T16:02:51.000Z') },
    { _id: oid('65a1f3c2e4b0a1d2c3f50003'), username: 'deploy', email: 'deploy@example-shop.com', role: 'service', apiKey: 'sk_live_51Hx8dLkQ2vT9pR3mN7cW0yZ4bF6gJ1aE5sU8iO2', lastLogin: when('2024-03-12T02:00:03.000Z') },
  ];
}

function orders(): Document[] {
  return [0, 1, 2, 3, 4].map((i) => ({
    _id: oid(`65a1f3c2e4b0a1d2c3f6${(0x1000 + i).toString(16)}`),
    orderNo: `SO-2024-${(10231 + i * 17).toString()}`,
    customerId: oid(`65a1f3c2e4b0a1d2c3f4${(0x5a10 + (i % 6)).toString(16)}`),
    items: [{ sku: `SKU-${4410 + i}`, qty: i + 1, price: new Double(19.99 + i * 5) }],
    total: new Double((19.99 + i * 5) * (i + 1)),
    status: ['paid', 'shipped', 'paid', 'refunded', 'pending'][i]!,
    createdAt: when(`2024-02-2${i}T1${i}:05:00.000Z`),
  }));
}

function coll(docs: Document[], indexes: Collection['indexes'] = []): Collection {
  return { uuid: new UUID(), docs, indexes };
}

export function initialDatabases(hostname: string, startTime: Date): Databases {
  const dbs: Databases = new Map();
  dbs.set('admin', new Map([['system.version', coll([{ _id: 'featureCompatibilityVersion', version: '6.0' }])]]));
  dbs.set('config', new Map([['system.sessions', coll([], [{ name: 'lsidTTLIndex', key: { lastUse: 1 } }])]]));
  dbs.set(
    'local',
    new Map([
      [
        'startup_log',
        coll([
          {
            _id: `${hostname}-${startTime.getTime()}`,
            hostname,
            startTime,
            startTimeLocal: startTime.toString(),
            cmdLine: { net: { bindIp: '*' }, storage: { dbPath: '/data/db' } },
            pid: Long.fromNumber(1),
          },
        ]),
      ],
    ]),
  );
  dbs.set(
    'customers',
    new Map([
      ['customers', coll(customers(), [{ name: 'email_1', key: { email: 1 }, unique: true }])],
      ['orders', coll(orders(), [{ name: 'customerId_1', key: { customerId: 1 } }])],
      ['users', coll(users(), [{ name: 'username_1', key: { username: 1 }, unique: true }])],
    ]),
  );
  return dbs;
}
