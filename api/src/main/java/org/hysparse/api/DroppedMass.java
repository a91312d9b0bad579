package org.hysparse.api;

/** Max and mean over rows and query heads of the dropped mass {@code delta(i,g)}, each in [0, 1]. */
public record DroppedMass(double max, double mean) {
}
