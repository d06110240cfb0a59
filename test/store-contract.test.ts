import { storeContract } from './store-contract.ts';
import { postgresBackend, sqliteBackend } from './support/store-backends.ts';

storeContract(sqliteBackend());
storeContract(postgresBackend());
